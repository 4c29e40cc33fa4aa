# rbuild as a non-root image for CI jobs, following the rootless-containers
# guide: a Debian base, a non-root USER with its own subordinate id range, and
# no setuid files (newuidmap/newgidmap get file capabilities instead).
# Build it from the repository root:
#   rbuild build -f docs/rbuild.Dockerfile -t rbuild:ci .

# The build stage compiles the native helper and the TypeScript.
FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3 libseccomp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# `npm ci` runs the install (node-gyp) and prepare (tsc) scripts, so the sources come first.
COPY package.json package-lock.json tsconfig.json ./
COPY native/ native/
COPY builder/ builder/
COPY registry/ registry/
COPY snapshotter/ snapshotter/
COPY test/ test/
COPY bench/ bench/
RUN npm ci && npm prune --omit=dev

# The runtime: node on Debian bookworm (slim), nothing to compile with.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends uidmap libseccomp2 slirp4netns fuse-overlayfs libcap2-bin ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 # No setuid or setgid file anywhere: what a build step could abuse is gone.
 && find / -xdev -type f -perm /6000 -exec chmod a-s {} + \
 # newuidmap/newgidmap need only these capabilities (as podman's image does).
 && setcap cap_setuid+ep /usr/bin/newuidmap \
 && setcap cap_setgid+ep /usr/bin/newgidmap \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y \
 # The build user; its subordinate range is the rest of a 65536-id space, so the
 # image also runs where the container itself has only 65536 ids (rootless
 # podman, Kubernetes user namespaces).
 && useradd --create-home --uid 1001 --shell /bin/sh rbuild \
 && echo 'rbuild:1002:64534' > /etc/subuid \
 && echo 'rbuild:1002:64534' > /etc/subgid
COPY --from=build /src/package.json /opt/rbuild/package.json
COPY --from=build /src/dist /opt/rbuild/dist
COPY --from=build /src/node_modules /opt/rbuild/node_modules
COPY --from=build /src/native/build/Release /opt/rbuild/native/build/Release
RUN chmod 0755 /opt/rbuild/dist/builder/cli/main.js \
 && ln -s /opt/rbuild/dist/builder/cli/main.js /usr/local/bin/rbuild
USER rbuild
WORKDIR /home/rbuild
ENTRYPOINT ["rbuild"]
CMD ["info"]
