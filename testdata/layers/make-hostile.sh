#!/usr/bin/env bash
# Regenerates the hostile layer tarballs in this directory with GNU tar (a
# writer other than rbuild's own), each with one way out of the snapshot.
# The tests (snapshotter/hostile-corpus.test.ts) expect each to be refused, except
# gnu-symlink-escape.tar: an absolute link is resolved below the root, as containerd does.
set -euo pipefail
out=$(cd "$(dirname "$0")" && pwd)
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
cd "$w"
export TZ=UTC
common=(--format=posix --numeric-owner --owner=0 --group=0 --mtime=@1000 --pax-option=delete=atime,delete=ctime)

echo evil > evil
# 1. a "../" entry
tar "${common[@]}" -P --transform 's,^evil$,../../evil,' -cf "$out/gnu-dotdot.tar" evil
# 2. an absolute entry
tar "${common[@]}" -P --transform 's,^evil$,/tmp/rbuild-evil,' -cf "$out/gnu-absolute.tar" evil
# 3. a symlink out, then a file through it
ln -s /tmp esc
mkdir esc2 && echo evil > esc2/rbuild-evil
tar "${common[@]}" --transform 's,^esc2,esc,' -cf "$out/gnu-symlink-escape.tar" esc esc2/rbuild-evil
# 4. a hardlink to a file outside
echo t > target && ln target link
tar "${common[@]}" -P --transform 's,^target$,../../etc/passwd,RSh' -cf "$out/gnu-hardlink-escape.tar" target link
# 5. a symlink, then a regular file with the same name (written through the link by naive extractors)
mkdir s && ln -s /tmp/rbuild-evil s/f && mkdir t && echo evil > t/f
tar "${common[@]}" --transform 's,^t/,s/,' -cf "$out/gnu-symlink-then-file.tar" s/f t/f
# 6. an absolute symlink whose ".." climbs above the root, then a file through it
ln -s /../../../tmp esc3
mkdir esc4 && echo evil > esc4/rbuild-evil
tar "${common[@]}" --transform 's,^esc4,esc3,' -cf "$out/gnu-absolute-symlink-dotdot.tar" esc3 esc4/rbuild-evil
