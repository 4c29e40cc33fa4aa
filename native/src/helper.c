/* rbuild-helper: creates namespaces and runs build steps for rbuild. The protocol is in native/README.md.
 *
 *   rbuild-helper version                      prints "rbuild-helper <protocol>"
 *   rbuild-helper features                     prints "seccomp 0|1", "chroot 1", "userns|mountns 1|0 ERRNO" lines
 *   rbuild-helper userns [--mount-only] -- CMD runs CMD as root of a new user + mount namespace
 *   rbuild-helper run --spec-fd N [--status-fd N] [--control-fd N]
 *                                              runs one step isolated (see README.md)
 *   rbuild-helper run-chroot --spec-fd N [...]  the same spec, chroot(2) only: no namespaces, no mounts
 *   rbuild-helper deny-ns -- CMD               (tests) runs CMD as a locked-down container would
 *
 * Node cannot unshare(CLONE_NEWUSER) because it is multi-threaded; this single-threaded program does it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef RBUILD_HAVE_SECCOMP
#include <seccomp.h>
#include "seccomp-profile.h"
#endif

#include "protocol.h"

extern char **environ;

/* ---------- errors ---------- */

/* Where structured errors go: the status fd (parent), the message pipe (children), or stderr. */
static int error_fd = -1;

/* Reports one structured error ("error\t<syscall>\t<ERRNO>\t<hint>") and exits 125 like runc/docker do. */
static void __attribute__((noreturn, format(printf, 3, 4))) fail(const char *syscall_name, int err, const char *fmt, ...) {
  char hint[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(hint, sizeof hint, fmt, ap);
  va_end(ap);
  for (char *p = hint; *p; p++) if (*p == '\n' || *p == '\t') *p = ' ';
  const char *name = err ? strerrorname_np(err) : "-";
  if (!name) name = "EUNKNOWN";
  char line[1400];
  int n;
  if (error_fd >= 0) {
    n = snprintf(line, sizeof line, "error\t%s\t%s\t%s\n", syscall_name, name, hint);
    if (write(error_fd, line, n) < 0) { /* nothing left to tell */ }
  } else {
    n = snprintf(line, sizeof line, "rbuild-helper: error: %s: %s: %s\n", syscall_name, name, hint);
    if (write(2, line, n) < 0) { /* nothing left to tell */ }
  }
  _exit(RBUILD_HELPER_EXIT_ERROR);
}

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    buf += n;
    len -= (size_t)n;
  }
}

static void writef(int fd, const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (fd >= 0 && n > 0) write_all(fd, buf, (size_t)n);
}

/* Reads one line (without '\n') from fd, byte by byte so nothing after it is consumed. 0 on EOF. */
static int read_line(int fd, char *buf, size_t cap) {
  size_t len = 0;
  for (;;) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) { buf[len] = 0; return len > 0 ? 1 : 0; }
    if (c == '\n') { buf[len] = 0; return 1; }
    if (len + 1 < cap) buf[len++] = c;
  }
}

/* ---------- userns ---------- */

#define MAX_RANGES 16
struct id_range { unsigned long start, count; };

/* Reads the user's ranges from /etc/subuid or /etc/subgid (lines "name:start:count" or "uid:start:count"). */
static int read_subids(const char *file, const char *name, unsigned long id, struct id_range *out) {
  FILE *f = fopen(file, "re");
  if (!f) return 0;
  char line[512], idstr[32];
  int n = 0;
  snprintf(idstr, sizeof idstr, "%lu", id);
  while (n < MAX_RANGES && fgets(line, sizeof line, f)) {
    char *who = strtok(line, ":\n"), *start = strtok(NULL, ":\n"), *count = strtok(NULL, ":\n");
    if (!who || !start || !count) continue;
    if (!((name && strcmp(who, name) == 0) || strcmp(who, idstr) == 0)) continue;
    out[n].start = strtoul(start, NULL, 10);
    out[n].count = strtoul(count, NULL, 10);
    if (out[n].count > 0) n++;
  }
  fclose(f);
  return n;
}

static int write_file(const char *path, const char *content) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, content, strlen(content));
  int saved = errno;
  close(fd);
  errno = saved;
  return n == (ssize_t)strlen(content) ? 0 : -1;
}

/* Runs newuidmap/newgidmap for pid; returns 0 or an error text in msg. */
static int run_idmap(const char *tool, pid_t pid, unsigned long own, const struct id_range *r, int nr, char *msg, size_t cap) {
  char *argv[4 + 3 * (MAX_RANGES + 1)];
  char nums[3 * (MAX_RANGES + 2)][24];
  int a = 0, k = 0;
  argv[a++] = (char *)tool;
  snprintf(nums[k], 24, "%d", pid); argv[a++] = nums[k++];
  snprintf(nums[k], 24, "0"); argv[a++] = nums[k++];
  snprintf(nums[k], 24, "%lu", own); argv[a++] = nums[k++];
  snprintf(nums[k], 24, "1"); argv[a++] = nums[k++];
  unsigned long inside = 1;
  for (int i = 0; i < nr; i++) {
    snprintf(nums[k], 24, "%lu", inside); argv[a++] = nums[k++];
    snprintf(nums[k], 24, "%lu", r[i].start); argv[a++] = nums[k++];
    snprintf(nums[k], 24, "%lu", r[i].count); argv[a++] = nums[k++];
    inside += r[i].count;
  }
  argv[a] = NULL;
  int errp[2];
  if (pipe2(errp, O_CLOEXEC) < 0) { snprintf(msg, cap, "pipe: %s", strerror(errno)); return -1; }
  pid_t c = fork();
  if (c < 0) { snprintf(msg, cap, "fork: %s", strerror(errno)); return -1; }
  if (c == 0) {
    dup2(errp[1], 2);
    execvp(tool, argv);
    dprintf(2, "%s: %s", tool, strerror(errno));
    _exit(127);
  }
  close(errp[1]);
  char out[400];
  ssize_t n = 0, m;
  while ((m = read(errp[0], out + n, sizeof out - 1 - (size_t)n)) > 0) n += m;
  out[n > 0 ? n : 0] = 0;
  close(errp[0]);
  int st;
  while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
  for (char *p = out; *p; p++) if (*p == '\n' || *p == '\t') *p = ' ';
  snprintf(msg, cap, "%s failed: %s", tool, out[0] ? out : "no output");
  return -1;
}

static int cmd_userns(int argc, char **argv) {
  int mount_only = 0, i = 2;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--mount-only") == 0) mount_only = 1;
    else if (strcmp(argv[i], "--") == 0) { i++; break; }
    else fail("usage", 0, "unknown userns option %s", argv[i]);
  }
  if (i >= argc) fail("usage", 0, "userns needs -- CMD");
  char **cmd = argv + i;

  if (mount_only) {
    if (unshare(CLONE_NEWNS) < 0) fail("unshare", errno, "cannot create a mount namespace (needs CAP_SYS_ADMIN)");
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("mount", errno, "cannot make / private");
    setenv("RBUILD_USERNS", "1", 1);
    setenv("RBUILD_USERNS_MAP", "root", 1);
    execvp(cmd[0], cmd);
    fail("execvp", errno, "cannot run %s", cmd[0]);
  }

  uid_t uid = getuid();
  gid_t gid = getgid();
  struct passwd *pw = getpwuid(uid);
  const char *name = pw ? pw->pw_name : NULL;
  struct id_range ur[MAX_RANGES], gr[MAX_RANGES];
  int nur = read_subids("/etc/subuid", name, uid, ur);
  int ngr = read_subids("/etc/subgid", name, uid, gr);
  const char *reason = NULL;
  char why[600] = "";
  int full = nur > 0 && ngr > 0;
  if (!full) reason = "no-subids";

  if (full) {
    /* A child stays in our user namespace and runs the setuid newuidmap/newgidmap on us once we unshared:
       the map must be written from the parent namespace. */
    int go[2], res[2];
    if (pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) fail("pipe", errno, "out of file descriptors?");
    pid_t parent = getpid();
    pid_t c = fork();
    if (c < 0) fail("fork", errno, "cannot fork");
    if (c == 0) {
      close(go[1]);
      close(res[0]);
      char b;
      if (read(go[0], &b, 1) != 1) _exit(1);
      char msg[500];
      if (run_idmap("newuidmap", parent, uid, ur, nur, msg, sizeof msg) < 0 ||
          run_idmap("newgidmap", parent, gid, gr, ngr, msg, sizeof msg) < 0) {
        write_all(res[1], msg, strlen(msg));
        _exit(1);
      }
      _exit(0);
    }
    close(go[0]);
    close(res[1]);
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
      fail("unshare", errno,
           "cannot create a user namespace: check sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone "
           "and kernel.apparmor_restrict_unprivileged_userns (see `rbuild info`)");
    write_all(go[1], "g", 1);
    char msg[600];
    ssize_t n = 0, m;
    while ((m = read(res[0], msg + n, sizeof msg - 1 - (size_t)n)) > 0) n += m;
    msg[n > 0 ? n : 0] = 0;
    int st;
    while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
      /* Degrade to the single-id mapping we can write ourselves, and say why. */
      full = 0;
      reason = "newuidmap-failed";
      snprintf(why, sizeof why, "%s", msg);
    }
  } else {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
      fail("unshare", errno,
           "cannot create a user namespace: check sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone "
           "and kernel.apparmor_restrict_unprivileged_userns (see `rbuild info`)");
  }
  if (!full) {
    char map[64];
    snprintf(map, sizeof map, "0 %u 1\n", uid);
    if (write_file("/proc/self/uid_map", map) < 0) fail("write uid_map", errno, "cannot map own uid");
    if (write_file("/proc/self/setgroups", "deny\n") < 0 && errno != ENOENT) fail("write setgroups", errno, "cannot deny setgroups");
    snprintf(map, sizeof map, "0 %u 1\n", gid);
    if (write_file("/proc/self/gid_map", map) < 0) fail("write gid_map", errno, "cannot map own gid");
  }
  if (setresgid(0, 0, 0) < 0) fail("setresgid", errno, "gid 0 is not mapped");
  if (full && setgroups(0, NULL) < 0) fail("setgroups", errno, "cannot clear supplementary groups");
  if (setresuid(0, 0, 0) < 0) fail("setresuid", errno, "uid 0 is not mapped");
  if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("mount", errno, "cannot make / private in the new mount namespace");
  char idbuf[32];
  snprintf(idbuf, sizeof idbuf, "%u", uid);
  setenv("RBUILD_USERNS", "1", 1);
  setenv("RBUILD_USERNS_MAP", full ? "full" : "single", 1);
  setenv("RBUILD_USERNS_OUTER_UID", idbuf, 1);
  if (reason) setenv("RBUILD_USERNS_REASON", reason, 1);
  if (why[0]) setenv("RBUILD_USERNS_DETAIL", why, 1);
  execvp(cmd[0], cmd);
  fail("execvp", errno, "cannot run %s", cmd[0]);
}

/* ---------- run: the spec ---------- */

enum mount_kind { M_BIND_RO, M_BIND_RW, M_TMPFS };
struct step_mount { enum mount_kind kind; const char *source, *target; unsigned long long size; };

#define MAX_ITEMS 4096
#define MAX_MOUNTS 128
struct spec {
  const char *rootfs, *cwd, *hostname, *hosts, *resolv, *hostname_file;
  const char *args[MAX_ITEMS + 1];
  int nargs;
  char *env[MAX_ITEMS + 1];
  int nenv;
  uid_t uid;
  gid_t gid;
  gid_t groups[256];
  int ngroups;
  int have_uid, have_gid;
  enum { NET_HOST, NET_NONE, NET_PRIVATE } network;
  struct step_mount mounts[MAX_MOUNTS];
  int nmounts;
};

static unsigned long long parse_num(const char *key, const char *v) {
  char *end;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  if (errno || !*v || *end) fail("spec", EINVAL, "%s: not a number: %s", key, v);
  return n;
}

static int is_abs(const char *p) { return p && p[0] == '/'; }

/* Parses NUL-terminated "key=value" records; unknown keys are errors (the TS side validates too). */
static void parse_spec(char *buf, size_t len, struct spec *s) {
  memset(s, 0, sizeof *s);
  s->network = NET_NONE;
  int saw_version = 0;
  struct step_mount *cur = NULL;
  size_t off = 0;
  while (off < len) {
    char *rec = buf + off;
    size_t rlen = strnlen(rec, len - off);
    if (off + rlen >= len) fail("spec", EINVAL, "record not NUL-terminated");
    off += rlen + 1;
    char *eq = strchr(rec, '=');
    if (!eq) fail("spec", EINVAL, "record without '=': %.40s", rec);
    *eq = 0;
    const char *k = rec, *v = eq + 1;
    if (!saw_version) {
      if (strcmp(k, "version") != 0) fail("spec", EINVAL, "first record must be version");
      if (parse_num(k, v) != RBUILD_HELPER_PROTOCOL) fail("spec", EINVAL, "spec version %s, helper speaks %d", v, RBUILD_HELPER_PROTOCOL);
      saw_version = 1;
    } else if (strcmp(k, "rootfs") == 0) s->rootfs = v;
    else if (strcmp(k, "arg") == 0) { if (s->nargs >= MAX_ITEMS) fail("spec", E2BIG, "too many args"); s->args[s->nargs++] = v; }
    else if (strcmp(k, "env") == 0) { if (s->nenv >= MAX_ITEMS) fail("spec", E2BIG, "too many env"); s->env[s->nenv++] = (char *)v; }
    else if (strcmp(k, "cwd") == 0) s->cwd = v;
    else if (strcmp(k, "uid") == 0) { s->uid = (uid_t)parse_num(k, v); s->have_uid = 1; }
    else if (strcmp(k, "gid") == 0) { s->gid = (gid_t)parse_num(k, v); s->have_gid = 1; }
    else if (strcmp(k, "group") == 0) { if (s->ngroups >= 256) fail("spec", E2BIG, "too many groups"); s->groups[s->ngroups++] = (gid_t)parse_num(k, v); }
    else if (strcmp(k, "hostname") == 0) s->hostname = v;
    else if (strcmp(k, "hosts-file") == 0) s->hosts = v;
    else if (strcmp(k, "resolv-file") == 0) s->resolv = v;
    else if (strcmp(k, "hostname-file") == 0) s->hostname_file = v;
    else if (strcmp(k, "network") == 0) {
      if (strcmp(v, "host") == 0) s->network = NET_HOST;
      else if (strcmp(v, "none") == 0) s->network = NET_NONE;
      else if (strcmp(v, "private") == 0) s->network = NET_PRIVATE;
      else fail("spec", EINVAL, "unknown network %s", v);
    } else if (strcmp(k, "mount") == 0) {
      if (s->nmounts >= MAX_MOUNTS) fail("spec", E2BIG, "too many mounts");
      cur = &s->mounts[s->nmounts++];
      memset(cur, 0, sizeof *cur);
      if (strcmp(v, "bind-ro") == 0) cur->kind = M_BIND_RO;
      else if (strcmp(v, "bind-rw") == 0) cur->kind = M_BIND_RW;
      else if (strcmp(v, "tmpfs") == 0) cur->kind = M_TMPFS;
      else fail("spec", EINVAL, "unknown mount kind %s", v);
    } else if (strcmp(k, "mount.source") == 0 && cur) cur->source = v;
    else if (strcmp(k, "mount.target") == 0 && cur) cur->target = v;
    else if (strcmp(k, "mount.size") == 0 && cur) cur->size = parse_num(k, v);
    else fail("spec", EINVAL, "unknown key %s", k);
  }
  s->args[s->nargs] = NULL;
  s->env[s->nenv] = NULL;
  if (!saw_version) fail("spec", EINVAL, "empty spec");
  if (!is_abs(s->rootfs)) fail("spec", EINVAL, "rootfs must be an absolute path");
  if (s->nargs == 0) fail("spec", EINVAL, "no args");
  if (!s->cwd) s->cwd = "/";
  if (!is_abs(s->cwd)) fail("spec", EINVAL, "cwd must be absolute");
  if (!s->have_uid || !s->have_gid) fail("spec", EINVAL, "uid and gid are required");
  for (int i = 0; i < s->nmounts; i++) {
    struct step_mount *m = &s->mounts[i];
    if (!is_abs(m->target)) fail("spec", EINVAL, "mount %d: target must be absolute", i);
    if (m->kind != M_TMPFS && !is_abs(m->source)) fail("spec", EINVAL, "mount %d: source must be absolute", i);
  }
}

static char *read_fd_all(int fd, size_t *len) {
  size_t cap = 65536, n = 0;
  char *buf = malloc(cap);
  if (!buf) fail("malloc", ENOMEM, "spec");
  for (;;) {
    if (n == cap) {
      if (cap >= (16u << 20)) fail("spec", E2BIG, "spec larger than 16 MiB");
      cap *= 2;
      buf = realloc(buf, cap);
      if (!buf) fail("malloc", ENOMEM, "spec");
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) fail("read", errno, "cannot read the spec fd");
    if (r == 0) break;
    n += (size_t)r;
  }
  *len = n;
  return buf;
}

/* ---------- run: paths inside the root ---------- */

/* Opens path inside root, resolving symlinks and ".." as if root were "/" (no escape to the host). */
static int open_in_root(int rootfd, const char *path, int flags) {
  struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  while (*path == '/') path++;
  if (!*path) path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* Creates the missing components of path inside root; the last one as a directory or an empty file.
   Returns 1 when the last component was created, 0 when it existed, -1 on error. */
static int ensure_in_root(int rootfd, const char *path, int dir) {
  char buf[PATH_MAX];
  if (strlen(path) >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
  strcpy(buf, path);
  char *p = buf;
  while (*p == '/') p++;
  int created = 0;
  for (;;) {
    char *slash = strchr(p, '/');
    int last = !slash || !slash[strspn(slash, "/")];
    if (slash) *slash = 0;
    int fd = open_in_root(rootfd, buf, O_PATH);
    if (fd >= 0) { close(fd); created = 0; }
    else if (errno == ENOENT) {
      /* Create it in its parent, resolved inside the root too. */
      char *base = strrchr(buf, '/');
      int pfd;
      const char *name;
      if (base) { *base = 0; pfd = open_in_root(rootfd, buf, O_PATH | O_DIRECTORY); *base = '/'; name = base + 1; }
      else { pfd = open_in_root(rootfd, "/", O_PATH | O_DIRECTORY); name = buf; }
      if (pfd < 0) return -1;
      int rc;
      if (!last || dir) rc = mkdirat(pfd, name, 0755);
      else { rc = openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644); if (rc >= 0) { close(rc); rc = 0; } }
      int saved = errno;
      close(pfd);
      if (rc < 0) { errno = saved; return -1; }
      created = 1;
    } else return -1;
    if (last) return created;
    *slash = '/';
    p = slash + 1;
    while (*p == '/') p++;
  }
}

/* Mount points this step created in the root; removed after the step so they do not end up in the layer. */
struct created { char path[PATH_MAX]; int dir; };
static struct created created_paths[MAX_MOUNTS + 16];
static int ncreated;

static void prepare_mountpoint(int rootfd, const char *path, int dir) {
  int rc = ensure_in_root(rootfd, path, dir);
  if (rc < 0) fail("mkdir", errno, "cannot create mount point %s in the root file system", path);
  if (rc == 1 && ncreated < (int)(sizeof created_paths / sizeof created_paths[0])) {
    snprintf(created_paths[ncreated].path, PATH_MAX, "%s", path);
    created_paths[ncreated].dir = dir;
    ncreated++;
  }
}

static void remove_created(int rootfd) {
  for (int i = ncreated - 1; i >= 0; i--) {
    const char *p = created_paths[i].path;
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", p);
    char *base = strrchr(buf, '/');
    if (!base) continue;
    *base = 0;
    int pfd = open_in_root(rootfd, buf[0] ? buf : "/", O_PATH | O_DIRECTORY);
    if (pfd < 0) continue;
    if (created_paths[i].dir) unlinkat(pfd, base + 1, AT_REMOVEDIR); /* only if still empty */
    else {
      struct stat st;
      if (fstatat(pfd, base + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) unlinkat(pfd, base + 1, 0);
    }
    close(pfd);
  }
}

/* ---------- run: mounts in the child ---------- */

static char fdpath_buf[64];
static const char *fdpath(int fd) {
  snprintf(fdpath_buf, sizeof fdpath_buf, "/proc/self/fd/%d", fd);
  return fdpath_buf;
}

/* Mount flags a bind mount inherited that a user namespace may not clear (they are "locked"). */
static unsigned long locked_flags(const char *path) {
  struct statvfs sv;
  unsigned long f = 0;
  if (statvfs(path, &sv) < 0) return 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  return f;
}

static void bind_into(int rootfd, const char *source, const char *target, int readonly, int recursive) {
  int fd = open_in_root(rootfd, target, O_PATH);
  if (fd < 0) fail("open", errno, "mount point %s inside the root", target);
  if (mount(source, fdpath(fd), NULL, MS_BIND | (recursive ? MS_REC : 0), NULL) < 0)
    fail("mount", errno, "bind %s on %s: does the source exist and is it readable?", source, target);
  if (readonly) {
    /* Re-open: the fd still names the covered inode, the new mount is on top of it. */
    close(fd);
    fd = open_in_root(rootfd, target, O_PATH);
    if (fd < 0) fail("open", errno, "mount point %s inside the root", target);
    const char *p = fdpath(fd);
    if (mount(NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(p), NULL) < 0)
      fail("mount", errno, "remount %s read-only", target);
  }
  close(fd);
}

static void mount_fs_into(int rootfd, const char *fstype, const char *target, unsigned long flags, const char *data, const char *hint) {
  int fd = open_in_root(rootfd, target, O_PATH | O_DIRECTORY);
  if (fd < 0) fail("open", errno, "mount point %s inside the root", target);
  if (mount(fstype, fdpath(fd), fstype, flags, data) < 0) fail("mount", errno, "%s on %s: %s", fstype, target, hint);
  close(fd);
}

static const char *dev_nodes[] = { "null", "zero", "full", "random", "urandom", "tty" };

static void setup_dev(int rootfd) {
  mount_fs_into(rootfd, "tmpfs", "/dev", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k", "cannot mount a tmpfs for /dev");
  int devfd = open_in_root(rootfd, "/dev", O_PATH | O_DIRECTORY);
  if (devfd < 0) fail("open", errno, "/dev inside the root");
  char host[64];
  for (size_t i = 0; i < sizeof dev_nodes / sizeof dev_nodes[0]; i++) {
    int f = openat(devfd, dev_nodes[i], O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
    if (f < 0) fail("create", errno, "/dev/%s", dev_nodes[i]);
    close(f);
    snprintf(host, sizeof host, "/dev/%s", dev_nodes[i]);
    char target[64];
    snprintf(target, sizeof target, "/dev/%s", dev_nodes[i]);
    bind_into(rootfd, host, target, 0, 0);
  }
  const char *dirs[] = { "pts", "shm", "mqueue" };
  for (size_t i = 0; i < 3; i++)
    if (mkdirat(devfd, dirs[i], 0755) < 0) fail("mkdir", errno, "/dev/%s", dirs[i]);
  int pfd = open_in_root(rootfd, "/dev/pts", O_PATH | O_DIRECTORY);
  if (pfd < 0) fail("open", errno, "/dev/pts");
  /* gid=5 (tty) is only valid when mapped; the single-id mapping has no gid 5. */
  if (mount("devpts", fdpath(pfd), "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") < 0 &&
      mount("devpts", fdpath(pfd), "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620") < 0)
    fail("mount", errno, "devpts on /dev/pts");
  close(pfd);
  mount_fs_into(rootfd, "tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k", "shm");
  mount_fs_into(rootfd, "mqueue", "/dev/mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "mqueue needs a new IPC namespace");
  const char *links[][2] = { { "pts/ptmx", "ptmx" }, { "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
                             { "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" }, { "/proc/kcore", "core" } };
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlinkat(links[i][0], devfd, links[i][1]) < 0) fail("symlink", errno, "/dev/%s", links[i][1]);
  close(devfd);
}

/* Docker's read-only and masked /proc paths, so a root step cannot reconfigure the kernel. */
static void protect_proc(int rootfd) {
  const char *ro[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger" };
  for (size_t i = 0; i < sizeof ro / sizeof ro[0]; i++) {
    int fd = open_in_root(rootfd, ro[i], O_PATH);
    if (fd < 0) continue;
    char p[64];
    snprintf(p, sizeof p, "%s", fdpath(fd));
    if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) == 0) {
      close(fd);
      fd = open_in_root(rootfd, ro[i], O_PATH);
      if (fd >= 0) mount(NULL, fdpath(fd), NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | locked_flags(fdpath(fd)), NULL);
    }
    if (fd >= 0) close(fd);
  }
  const char *masked[] = { "/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/acpi", "/proc/scsi" };
  for (size_t i = 0; i < sizeof masked / sizeof masked[0]; i++) {
    int fd = open_in_root(rootfd, masked[i], O_PATH);
    if (fd < 0) continue;
    struct stat st;
    if (fstat(fd, &st) == 0) {
      if (S_ISDIR(st.st_mode)) mount("tmpfs", fdpath(fd), "tmpfs", MS_RDONLY, "size=0");
      else mount("/dev/null", fdpath(fd), NULL, MS_BIND, NULL);
    }
    close(fd);
  }
}

static void lo_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail("socket", errno, "cannot bring up lo");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) fail("ioctl", errno, "SIOCGIFFLAGS lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail("ioctl", errno, "SIOCSIFFLAGS lo");
  close(s);
}

/* ---------- run: privileges of the step ---------- */

/* Docker's default capability set. */
static const int default_caps[] = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
                                    CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
                                    CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE };

static uint64_t cap_mask(const int *caps, size_t n) {
  uint64_t keep = 0;
  for (size_t i = 0; i < n; i++) keep |= 1ULL << caps[i];
  return keep;
}

/* Drops every capability not in keep from the bounding set: nothing exec'd later can regain it. */
static void drop_bounding_to(uint64_t keep) {
  for (int c = 0; c <= 63; c++) {
    if (keep & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
      if (errno == EINVAL) break; /* past the kernel's last capability */
      fail("prctl", errno, "PR_CAPBSET_DROP %d", c);
    }
  }
}

static void drop_bounding(void) { drop_bounding_to(cap_mask(default_caps, sizeof default_caps / sizeof default_caps[0])); }

static void set_caps_to(uint64_t keep) {
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct d[2];
  memset(d, 0, sizeof d);
  d[0].effective = d[0].permitted = (uint32_t)keep;
  d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
  /* Inheritable stays empty, as Docker does since CVE-2022-24769. */
  if (syscall(SYS_capset, &h, d) < 0) fail("capset", errno, "cannot set the step's capabilities");
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

static void set_caps(void) { set_caps_to(cap_mask(default_caps, sizeof default_caps / sizeof default_caps[0])); }

#ifdef RBUILD_HAVE_SECCOMP
/* Docker's default profile (seccomp-profile.h): everything not allowed fails with EPERM. */
static void add_rule(scmp_filter_ctx ctx, uint32_t action, const char *name, unsigned int nargs, const struct scmp_arg_cmp *args) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return; /* unknown to this libseccomp or architecture: skipped, as runc does */
  int rc = seccomp_rule_add_array(ctx, action, nr, nargs, args);
  /* -EDOM/-EINVAL: a pseudo syscall (e.g. socketcall) with no number on any ABI of the filter. */
  if (rc < 0 && rc != -EDOM && rc != -EINVAL) fail("seccomp_rule_add", -rc, "%s", name);
}

static void apply_seccomp(void) {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
  if (!ctx) fail("seccomp_init", ENOMEM, "libseccomp");
  for (int i = 0; rb_seccomp_sub_arches[i]; i++) {
    int rc = seccomp_arch_add(ctx, rb_seccomp_sub_arches[i]);
    if (rc < 0 && rc != -EEXIST) fail("seccomp_arch_add", -rc, "architecture 0x%x", rb_seccomp_sub_arches[i]);
  }
  for (int i = 0; rb_seccomp_allow[i]; i++) add_rule(ctx, SCMP_ACT_ALLOW, rb_seccomp_allow[i], 0, NULL);
  for (size_t i = 0; i < sizeof rb_seccomp_cond_rules / sizeof rb_seccomp_cond_rules[0]; i++) {
    const struct rb_seccomp_cond *c = &rb_seccomp_cond_rules[i];
    struct scmp_arg_cmp arg = { .arg = c->arg, .op = c->op, .datum_a = c->datum_a, .datum_b = c->datum_b };
    add_rule(ctx, c->action, c->name, (unsigned int)c->nargs, c->nargs ? &arg : NULL);
  }
  /* Docker does not set no_new_privs by default; libseccomp would. We hold CAP_SYS_ADMIN here instead. */
  if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) fail("seccomp_attr_set", EINVAL, "SCMP_FLTATR_CTL_NNP");
  int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc < 0) fail("seccomp_load", -rc, "cannot load the seccomp filter (needs CAP_SYS_ADMIN or no_new_privs)");
}
#endif

/* ---------- run: processes ---------- */


/* A step starts with no signal blocked and every handler at its default, as a fresh process would. */
static void reset_signals(void) {
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, NULL);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
}

/* The last of a step's start (both isolations): its working directory, then exec with its argv and environment. */
static void __attribute__((noreturn)) exec_spec(struct spec *s) {
  if (chdir(s->cwd) < 0) fail("chdir", errno, "working directory %s", s->cwd);
  /* Every inherited descriptor but stdio closes on exec: the message pipe is O_CLOEXEC so success shows as EOF,
     and in chroot isolation an open directory outside the root would be a way out. */
  syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  /* execvp looks PATH up in environ: the step's environment, exactly. */
  environ = s->env;
  execvp(s->args[0], (char *const *)s->args);
  int e = errno;
  fail("exec", e, "%s: %s", s->args[0],
       e == ENOENT ? "not found in the root file system (PATH of the step's environment)" : "cannot execute");
}

/* The step itself (pid 2 of the namespace): identity, privileges, then exec. Errors go to msgfd. */
static void __attribute__((noreturn)) exec_step(struct spec *s, int msgfd) {
  error_fd = msgfd;
  reset_signals();
  setsid();
  drop_bounding();
#ifdef RBUILD_HAVE_SECCOMP
  /* Before dropping CAP_SYS_ADMIN, so no_new_privs is not needed (Docker does not set it either). */
  apply_seccomp();
#endif
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("prctl", errno, "PR_SET_KEEPCAPS");
  if (setgroups((size_t)s->ngroups, s->groups) < 0) {
    /* The single-id mapping denies setgroups; when the only group is the primary one that is harmless. */
    int only_primary = 1;
    for (int i = 0; i < s->ngroups; i++) if (s->groups[i] != s->gid) only_primary = 0;
    if (!(errno == EPERM && only_primary))
      fail("setgroups", errno, "cannot set supplementary groups: with a single-id mapping (no subgid range) only the own group exists; "
           "fix: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER");
  }
  if (setresgid(s->gid, s->gid, s->gid) < 0)
    fail("setgid", errno, "gid %u is not mapped in the user namespace%s", s->gid,
         errno == EINVAL ? " (no subgid range: only id 0 exists; fix: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER)" : "");
  if (setresuid(s->uid, s->uid, s->uid) < 0)
    fail("setuid", errno, "uid %u is not mapped in the user namespace%s", s->uid,
         errno == EINVAL ? " (no subuid range: only id 0 exists; fix: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER)" : "");
  set_caps();
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("prctl", errno, "PR_SET_KEEPCAPS");
  exec_spec(s);
}

static void reap_status_line(int fd, int st) {
  if (WIFSIGNALED(st)) writef(fd, "signal\t%d\n", WTERMSIG(st));
  else writef(fd, "exit\t%d\n", WEXITSTATUS(st));
}

/* PID 1 of the step's namespaces: sets up the root, forks the step, forwards signals, reaps orphans. */
static void __attribute__((noreturn)) run_init(struct spec *s, int from_parent, int to_parent) {
  error_fd = to_parent;
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | (s->network == NET_HOST ? 0 : CLONE_NEWNET);
  if (unshare(flags) < 0) fail("unshare", errno, "cannot create the step's namespaces");
  if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) fail("mount", errno, "cannot make / private");
  if (s->network != NET_HOST) lo_up();
  /* The parent reports our pid; for the private network rbuild attaches slirp4netns now and says go. */
  writef(to_parent, "ready\n");
  char line[64];
  if (!read_line(from_parent, line, sizeof line) || strcmp(line, "go") != 0) _exit(RBUILD_HELPER_EXIT_ERROR);

  if (mount(s->rootfs, s->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    fail("mount", errno, "bind %s onto itself: does it exist?", s->rootfs);
  int rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fail("open", errno, "%s", s->rootfs);
  mount_fs_into(rootfd, "proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL,
                "a new procfs needs a fully visible /proc (are you inside a container that masks /proc?)");
  setup_dev(rootfd);
  if (s->network == NET_HOST) {
    /* sysfs can only be mounted by the owner of the network namespace: share the host's, read-only. */
    bind_into(rootfd, "/sys", "/sys", 1, 1);
  } else {
    mount_fs_into(rootfd, "sysfs", "/sys", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL, "read-only sysfs");
  }
  if (s->hosts) bind_into(rootfd, s->hosts, "/etc/hosts", 0, 0);
  if (s->resolv) bind_into(rootfd, s->resolv, "/etc/resolv.conf", 0, 0);
  if (s->hostname_file) bind_into(rootfd, s->hostname_file, "/etc/hostname", 0, 0);
  for (int i = 0; i < s->nmounts; i++) {
    struct step_mount *m = &s->mounts[i];
    /* Mount points under the step's own /dev (e.g. /dev/pipes for RUN heredocs) exist only in this
       namespace: create them here; the others were made by the parent and are found. */
    struct stat mst;
    int mdir = m->kind == M_TMPFS || (stat(m->source, &mst) == 0 && S_ISDIR(mst.st_mode));
    if (ensure_in_root(rootfd, m->target, mdir) < 0) fail("mkdir", errno, "cannot create mount point %s", m->target);
    if (m->kind == M_TMPFS) {
      char data[64] = "mode=1777";
      if (m->size) snprintf(data, sizeof data, "mode=1777,size=%llu", m->size);
      mount_fs_into(rootfd, "tmpfs", m->target, MS_NOSUID | MS_NODEV, data, "tmpfs mount");
    } else {
      bind_into(rootfd, m->source, m->target, m->kind == M_BIND_RO, 1);
    }
  }
  protect_proc(rootfd);
  if (chdir(s->rootfs) < 0) fail("chdir", errno, "%s", s->rootfs);
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    fail("pivot_root", errno, "the root must be a mount point in a private mount namespace (rbuild binds it onto itself)");
  if (umount2(".", MNT_DETACH) < 0) fail("umount2", errno, "cannot detach the old root");
  if (chdir("/") < 0) fail("chdir", errno, "/");
  close(rootfd);
  if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0) fail("sethostname", errno, "%s", s->hostname);

  /* The step must not be able to ptrace us (we still hold every capability of the namespace). */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_NAME, "rbuild-init", 0, 0, 0);
  sigset_t set;
  sigemptyset(&set);
  int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
  for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++) sigaddset(&set, fwd[i]);
  sigaddset(&set, SIGCHLD);
  sigprocmask(SIG_BLOCK, &set, NULL);
  pid_t step = fork();
  if (step < 0) fail("fork", errno, "cannot start the step");
  if (step == 0) exec_step(s, to_parent);
  for (;;) {
    int sig;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig != SIGCHLD) {
      /* The step leads its own process group (setsid): signal all of it, as a terminal would. */
      if (kill(-step, sig) < 0) kill(step, sig);
      continue;
    }
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
      if (p == step) {
        reap_status_line(to_parent, st);
        /* Our exit kills every other process of the namespace: nothing of the step outlives it. */
        _exit(0);
      }
    }
  }
}

/* ---------- the supervisor: rbuild's side of a step, shared by run and run-chroot ---------- */

/* The descriptors rbuild passes to run and run-chroot; -1 when not given. */
struct run_fds { int spec, status, control; };

/* Parses `run|run-chroot --spec-fd N [--status-fd N] [--control-fd N]`; errors go to the status fd from then on. */
static struct run_fds parse_run_args(int argc, char **argv) {
  struct run_fds fds = { -1, -1, -1 };
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--spec-fd") == 0 && i + 1 < argc) fds.spec = atoi(argv[++i]);
    else if (strcmp(argv[i], "--status-fd") == 0 && i + 1 < argc) fds.status = atoi(argv[++i]);
    else if (strcmp(argv[i], "--control-fd") == 0 && i + 1 < argc) fds.control = atoi(argv[++i]);
    else fail("usage", 0, "unknown %s option %s", argv[1], argv[i]);
  }
  if (fds.status >= 0) error_fd = fds.status;
  if (fds.spec < 0) fail("usage", 0, "%s needs --spec-fd", argv[1]);
  return fds;
}

/* Reads and parses the step's spec from its fd (closed afterwards). */
static void load_spec(int spec_fd, struct spec *s) {
  size_t len;
  char *buf = read_fd_all(spec_fd, &len);
  close(spec_fd);
  parse_spec(buf, len, s);
}

/* Blocks the signals the supervisor handles: SIGCHLD, SIGPIPE (ignored) and those passed on to the step. */
static void block_step_signals(sigset_t *set) {
  int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE, SIGQUIT, SIGUSR1, SIGUSR2 };
  sigemptyset(set);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(set, sigs[i]);
  sigprocmask(SIG_BLOCK, set, NULL);
}

/* One supervised child: the step's init (run) or the step itself (run-chroot). */
struct supervisor {
  pid_t child;
  /* Signal the child's process group too (run-chroot without a PID namespace: the step leads one). */
  int group;
  /* signalfd of block_step_signals' set. */
  int sigfd;
  /* The child's message pipe; read_msg(arg, fd) reads and handles a chunk, returning read(2)'s result. */
  int msgfd;
  ssize_t (*read_msg)(void *arg, int fd);
  void *arg;
  /* rbuild's control fd ("go", "kill" lines; EOF: rbuild went away) and where "go" is passed on. */
  int ctlfd, gofd;
  /* Out: set once the child is reaped, with its wait status. */
  int done, status;
};

/* Sends sig to the child; to its process group when it leads one (the fallback: the child alone). */
static void signal_child(const struct supervisor *sv, int sig) {
  if (!sv->group || kill(-sv->child, sig) < 0) kill(sv->child, sig);
}

/* Runs until the child is reaped and its message pipe drained: passes signals on, reads the child's
   messages, obeys rbuild's control fd, and kills the child when rbuild asks or goes away. */
static void supervise(struct supervisor *sv) {
  int killed = 0;
  char cbuf[256];
  size_t clen = 0;
  while (!sv->done || sv->msgfd >= 0) {
    struct pollfd pfd[3] = { { sv->sigfd, POLLIN, 0 }, { sv->msgfd, POLLIN, 0 }, { sv->ctlfd, POLLIN, 0 } };
    if (poll(pfd, 3, -1) < 0) { if (errno == EINTR) continue; break; }
    if (pfd[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sv->sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
          if (!sv->done && waitpid(sv->child, &sv->status, WNOHANG) == sv->child) sv->done = 1;
        } else if (si.ssi_signo != SIGPIPE && !sv->done) {
          signal_child(sv, (int)si.ssi_signo); /* run's init passes it on to the step */
        }
      }
    }
    if (sv->msgfd >= 0 && (pfd[1].revents & (POLLIN | POLLHUP))) {
      if (sv->read_msg(sv->arg, sv->msgfd) <= 0) { close(sv->msgfd); sv->msgfd = -1; }
    }
    if (sv->ctlfd >= 0 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(sv->ctlfd, cbuf + clen, sizeof cbuf - 1 - clen);
      int kill_now = 0;
      if (n <= 0) { close(sv->ctlfd); sv->ctlfd = -1; kill_now = 1; /* rbuild went away: nothing of the step may outlive it */ }
      else {
        clen += (size_t)n;
        char *nl;
        while ((nl = memchr(cbuf, '\n', clen))) {
          *nl = 0;
          if (strcmp(cbuf, "go") == 0) write_all(sv->gofd, "go\n", 3);
          else if (strcmp(cbuf, "kill") == 0) kill_now = 1;
          size_t used = (size_t)(nl - cbuf) + 1;
          memmove(cbuf, nl + 1, clen - used);
          clen -= used;
        }
        if (clen == sizeof cbuf - 1) clen = 0;
      }
      if (kill_now && !sv->done && !killed) { signal_child(sv, SIGKILL); killed = 1; }
    }
  }
}

/* The helper's exit code for a step's wait status: its exit code, or 128 + the signal (as shells do). */
static int exit_code_of(int st) {
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

/* What run's init says on its pipe: "ready", then "exit"/"signal" of the step, or an "error". */
struct init_msgs {
  pid_t init;
  int status_fd, control_fd, gofd;
  int result_known, exit_code;
  char buf[2048];
  size_t len;
};

/* supervisor.read_msg for run: handles init's complete lines. */
static ssize_t read_init_msgs(void *arg, int fd) {
  struct init_msgs *m = arg;
  ssize_t n = read(fd, m->buf + m->len, sizeof m->buf - 1 - m->len);
  if (n <= 0) return n;
  m->len += (size_t)n;
  char *nl;
  while ((nl = memchr(m->buf, '\n', m->len))) {
    char *line = m->buf;
    *nl = 0;
    if (strcmp(line, "ready") == 0) {
      writef(m->status_fd, "pid\t%d\n", m->init);
      if (m->control_fd < 0) write_all(m->gofd, "go\n", 3); /* nobody to wait for */
    } else if (strncmp(line, "exit\t", 5) == 0) {
      m->exit_code = atoi(line + 5); m->result_known = 1;
      writef(m->status_fd, "%s\n", line);
    } else if (strncmp(line, "signal\t", 7) == 0) {
      m->exit_code = 128 + atoi(line + 7); m->result_known = 1;
      writef(m->status_fd, "%s\n", line);
    } else if (strncmp(line, "error\t", 6) == 0) {
      m->exit_code = RBUILD_HELPER_EXIT_ERROR; m->result_known = 1;
      if (m->status_fd >= 0) writef(m->status_fd, "%s\n", line);
      else {
        /* error\tsyscall\tERRNO\thint -> the human form */
        char *a = line + 6, *b = strchr(a, '\t'), *c = b ? strchr(b + 1, '\t') : NULL;
        if (b && c) { *b = 0; *c = 0; writef(2, "rbuild-helper: error: %s: %s: %s\n", a, b + 1, c + 1); }
      }
    }
    size_t used = (size_t)(nl - m->buf) + 1;
    memmove(m->buf, nl + 1, m->len - used);
    m->len -= used;
  }
  return n;
}

static int cmd_run(int argc, char **argv) {
  struct run_fds fds = parse_run_args(argc, argv);
  static struct spec s;
  load_spec(fds.spec, &s);

  /* Mount points are created from here, in rbuild's mount namespace, so we can remove them afterwards. */
  int rootfd = open(s.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fail("open", errno, "root file system %s", s.rootfs);
  prepare_mountpoint(rootfd, "/proc", 1);
  prepare_mountpoint(rootfd, "/dev", 1);
  prepare_mountpoint(rootfd, "/sys", 1);
  if (s.hosts) prepare_mountpoint(rootfd, "/etc/hosts", 0);
  if (s.resolv) prepare_mountpoint(rootfd, "/etc/resolv.conf", 0);
  if (s.hostname_file) prepare_mountpoint(rootfd, "/etc/hostname", 0);
  for (int i = 0; i < s.nmounts; i++) {
    struct stat st;
    int dir = s.mounts[i].kind == M_TMPFS || (stat(s.mounts[i].source, &st) == 0 && S_ISDIR(st.st_mode));
    prepare_mountpoint(rootfd, s.mounts[i].target, dir);
  }

  int down[2], up[2];
  if (pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0) fail("pipe", errno, "out of file descriptors?");
  sigset_t set;
  block_step_signals(&set);
  if (unshare(CLONE_NEWPID) < 0) fail("unshare", errno, "cannot create a PID namespace (needs CAP_SYS_ADMIN in rbuild's user namespace)");
  pid_t init = fork();
  if (init < 0) fail("fork", errno, "cannot fork the step's init");
  if (init == 0) {
    close(down[1]);
    close(up[0]);
    if (fds.status >= 0) close(fds.status);
    if (fds.control >= 0) close(fds.control);
    run_init(&s, down[0], up[1]);
  }
  close(down[0]);
  close(up[1]);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (sfd < 0) fail("signalfd", errno, "cannot watch signals");

  static struct init_msgs msgs;
  msgs = (struct init_msgs){ .init = init, .status_fd = fds.status, .control_fd = fds.control, .gofd = down[1], .exit_code = RBUILD_HELPER_EXIT_ERROR };
  /* init passes signals on to the step's process group itself. */
  struct supervisor sv = { .child = init, .group = 0, .sigfd = sfd, .msgfd = up[0], .read_msg = read_init_msgs, .arg = &msgs,
                           .ctlfd = fds.control, .gofd = down[1] };
  supervise(&sv);
  int exit_code = msgs.exit_code;
  /* The pipe is drained: only now is it known whether init reported the step's end. */
  if (!msgs.result_known) {
    if (WIFSIGNALED(sv.status)) {
      exit_code = exit_code_of(sv.status);
      reap_status_line(fds.status, sv.status);
    } else {
      writef(fds.status >= 0 ? fds.status : 2, "error\tinit\t-\tthe step's init exited with %d before the step ended\n", WEXITSTATUS(sv.status));
    }
  }
  remove_created(rootfd);
  return exit_code;
}

/* ---------- run-chroot: steps where namespaces and mounts are forbidden ---------- */

/* Inside a locked-down CI container (Docker's default seccomp profile, no CAP_SYS_ADMIN) rbuild is root but can
   create neither namespaces nor mounts. Each step then runs chroot(2)ed into its copy-driver snapshot. The
   capabilities are Docker's default set minus MKNOD (the helper makes /dev's nodes itself), NET_RAW (there is no
   network namespace: raw sockets would be on the job's own network) and SYS_CHROOT: root holding it leaves a
   chroot(2) jail at will (mkdir x; chroot x; cd ../..; chroot .), and without a mount namespace there is no
   pivot_root to stop that. */
static const int chroot_caps[] = { CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_SETGID, CAP_SETUID,
                                   CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_KILL, CAP_AUDIT_WRITE };

struct chroot_dev { const char *name; unsigned maj, min; int created; };
static struct chroot_dev chroot_devs[] = { { "null", 1, 3, 0 }, { "zero", 1, 5, 0 }, { "full", 1, 7, 0 },
                                           { "random", 1, 8, 0 }, { "urandom", 1, 9, 0 }, { "tty", 5, 0, 0 } };

/* A directory whose times the helper restores when the step did not change it itself (the copy driver's diff
   compares directory mtimes: creating and removing /dev/null must not put /dev into the layer). */
struct dir_guard { int fd; struct timespec atime, mtime, after_setup; int touched; };

static void guard_begin(struct dir_guard *g, int fd) {
  struct stat st;
  g->fd = fd;
  g->touched = 0;
  if (fd < 0 || fstat(fd, &st) < 0) { g->fd = -1; return; }
  g->atime = st.st_atim;
  g->mtime = st.st_mtim;
}
static void guard_mark(struct dir_guard *g, int after_step) {
  struct stat st;
  if (g->fd < 0 || fstat(g->fd, &st) < 0) return;
  if (!after_step) g->after_setup = st.st_mtim;
  else g->touched = st.st_mtim.tv_sec != g->after_setup.tv_sec || st.st_mtim.tv_nsec != g->after_setup.tv_nsec;
}
static void guard_restore(struct dir_guard *g) {
  if (g->fd < 0) return;
  if (!g->touched) {
    struct timespec ts[2] = { g->atime, g->mtime };
    futimens(g->fd, ts);
  }
  close(g->fd);
  g->fd = -1;
}

/* /etc/hosts and /etc/resolv.conf: rbuild's content during the step, the image's own afterwards. */
struct etc_file { const char *name, *source; int state; /* 0 untouched, 1 created, 2 replaced */ char *orig; size_t len; struct stat st; };

static char *read_path(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("open", errno, "%s", path);
  char *b = read_fd_all(fd, len);
  close(fd);
  return b;
}

static void write_whole(int fd, const char *buf, size_t len, const char *what) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("write", errno, "%s", what);
    buf += n;
    len -= (size_t)n;
  }
}

static void etc_install(int etcfd, struct etc_file *f) {
  size_t len;
  char *content = read_path(f->source, &len);
  struct stat st;
  if (fstatat(etcfd, f->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
    if (errno != ENOENT) fail("stat", errno, "/etc/%s in the root", f->name);
    int fd = openat(etcfd, f->name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) fail("create", errno, "/etc/%s in the root", f->name);
    fchmod(fd, 0644);
    write_whole(fd, content, len, f->name);
    close(fd);
    f->state = 1;
  } else if (S_ISREG(st.st_mode)) {
    /* The image's file: keep it (content and metadata) and write ours into the same inode. */
    int fd = openat(etcfd, f->name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) fail("open", errno, "/etc/%s in the root", f->name);
    f->orig = read_fd_all(fd, &f->len);
    f->st = st;
    if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0) fail("truncate", errno, "/etc/%s", f->name);
    write_whole(fd, content, len, f->name);
    close(fd);
    f->state = 2;
  }
  /* Anything else (a symlink such as systemd's resolv.conf): left as the image has it. */
  free(content);
}

static void etc_restore(int etcfd, struct etc_file *f) {
  struct stat st;
  int have = fstatat(etcfd, f->name, &st, AT_SYMLINK_NOFOLLOW) == 0;
  if (f->state == 1) {
    if (have && !S_ISDIR(st.st_mode)) unlinkat(etcfd, f->name, 0);
    return;
  }
  if (f->state != 2) return;
  int fd = -1;
  if (have && S_ISREG(st.st_mode) && st.st_ino == f->st.st_ino) fd = openat(etcfd, f->name, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    /* The step replaced or removed it: a bind mount would not have let it, so the image's file comes back. */
    if (have && !S_ISDIR(st.st_mode)) unlinkat(etcfd, f->name, 0);
    fd = openat(etcfd, f->name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return;
  }
  write_whole(fd, f->orig, f->len, f->name);
  if (fchown(fd, f->st.st_uid, f->st.st_gid) < 0) { /* best effort */ }
  fchmod(fd, f->st.st_mode & 07777);
  struct timespec ts[2] = { f->st.st_atim, f->st.st_mtim };
  futimens(fd, ts);
  close(fd);
}

static int has_effective_cap(int cap) {
  struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0) return 0;
  return (d[cap / 32].effective >> (cap % 32)) & 1;
}

/* The step: chroot, identity, reduced privileges, exec. Errors go to msgfd. */
static void __attribute__((noreturn)) exec_chroot_step(struct spec *s, int rootfd, int gofd, int msgfd) {
  error_fd = msgfd;
  reset_signals();
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  setsid();
  char line[64];
  if (!read_line(gofd, line, sizeof line) || strcmp(line, "go") != 0) _exit(RBUILD_HELPER_EXIT_ERROR);
  close(gofd);
  if (fchdir(rootfd) < 0) fail("fchdir", errno, "%s", s->rootfs);
  if (chroot(".") < 0) fail("chroot", errno, "chroot isolation needs CAP_SYS_CHROOT (Docker's default set has it)");
  if (chdir("/") < 0) fail("chdir", errno, "/");
  uint64_t keep = cap_mask(chroot_caps, sizeof chroot_caps / sizeof chroot_caps[0]);
  int admin = has_effective_cap(CAP_SYS_ADMIN);
  drop_bounding_to(keep);
  /* no_new_privs: for root steps it costs nothing (nothing to gain); for other users it would break su/sudo,
     so only when loading the seccomp filter needs it (no CAP_SYS_ADMIN, the usual CI container). */
  if ((s->uid == 0 || !admin) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("prctl", errno, "PR_SET_NO_NEW_PRIVS");
#ifdef RBUILD_HAVE_SECCOMP
  apply_seccomp();
#endif
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("prctl", errno, "PR_SET_KEEPCAPS");
  if (setgroups((size_t)s->ngroups, s->groups) < 0) fail("setgroups", errno, "cannot set supplementary groups");
  if (setresgid(s->gid, s->gid, s->gid) < 0) fail("setgid", errno, "gid %u", s->gid);
  if (setresuid(s->uid, s->uid, s->uid) < 0) fail("setuid", errno, "uid %u", s->uid);
  set_caps_to(keep);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("prctl", errno, "PR_SET_KEEPCAPS");
  exec_spec(s);
}

/* What the chrooted step writes on its message pipe: an "error" line if it fails before exec (else EOF). */
struct step_msgs { char buf[2100]; size_t len; };

/* supervisor.read_msg for run-chroot: keeps the bytes, read once the step is done. */
static ssize_t read_step_msgs(void *arg, int fd) {
  struct step_msgs *m = arg;
  ssize_t n = read(fd, m->buf + m->len, sizeof m->buf - 1 - m->len);
  if (n > 0) m->len += (size_t)n;
  return n;
}

static int cmd_run_chroot(int argc, char **argv) {
  struct run_fds fds = parse_run_args(argc, argv);
  int status_fd = fds.status, control_fd = fds.control;
  if (geteuid() != 0) fail("run-chroot", EPERM, "chroot isolation needs rbuild to run as root (uid 0)");
  static struct spec s;
  load_spec(fds.spec, &s);
  /* Without mount(2) only read-only single files (secrets, file binds) can be given: copied in for the step. */
  /* anc: the deepest directory of the target that existed; what the helper makes below it goes afterwards. */
  static struct file_mount { int dirfd; struct etc_file f; struct stat src; char anc[PATH_MAX]; struct dir_guard g; } fmounts[MAX_MOUNTS];
  for (int i = 0; i < s.nmounts; i++) {
    struct step_mount *m = &s.mounts[i];
    if (m->kind != M_BIND_RO || stat(m->source, &fmounts[i].src) < 0 || !S_ISREG(fmounts[i].src.st_mode))
      fail("mount", EPERM, "RUN --mount on %s needs mount(2), which is not allowed here (chroot isolation); "
           "only read-only files (secrets) can be given", m->target);
  }

  int rootfd = open(s.rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fail("open", errno, "root file system %s", s.rootfs);
  /* Setup: /dev nodes and /etc files, each directory guarded so the layer records only what the step did. */
  struct dir_guard groot, gdev = { -1, { 0, 0 }, { 0, 0 }, { 0, 0 }, 0 }, getc_ = gdev;
  guard_begin(&groot, dup(rootfd));
  int dev_created = ensure_in_root(rootfd, "/dev", 1);
  if (dev_created < 0) fail("mkdir", errno, "/dev in the root file system");
  int devfd = open_in_root(rootfd, "/dev", O_RDONLY | O_DIRECTORY);
  if (devfd < 0) fail("open", errno, "/dev in the root file system");
  if (!dev_created) guard_begin(&gdev, dup(devfd));
  for (size_t i = 0; i < sizeof chroot_devs / sizeof chroot_devs[0]; i++) {
    struct chroot_dev *d = &chroot_devs[i];
    struct stat st;
    if (fstatat(devfd, d->name, &st, AT_SYMLINK_NOFOLLOW) == 0) continue; /* the image has one: use it */
    if (mknodat(devfd, d->name, S_IFCHR | 0666, makedev(d->maj, d->min)) < 0)
      fail("mknod", errno, "/dev/%s in the root: chroot isolation needs CAP_MKNOD (Docker's default set has it)", d->name);
    fchmodat(devfd, d->name, 0666, 0);
    d->created = 1;
  }
  struct etc_file etc[2] = { { "hosts", s.hosts, 0, NULL, 0, { 0 } }, { "resolv.conf", s.resolv, 0, NULL, 0, { 0 } } };
  int etcfd = -1, etc_created = 0;
  if (s.hosts || s.resolv) {
    etc_created = ensure_in_root(rootfd, "/etc", 1);
    if (etc_created < 0) fail("mkdir", errno, "/etc in the root file system");
    etcfd = open_in_root(rootfd, "/etc", O_RDONLY | O_DIRECTORY);
    if (etcfd < 0) fail("open", errno, "/etc in the root file system");
    if (!etc_created) guard_begin(&getc_, dup(etcfd));
    for (int i = 0; i < 2; i++) if (etc[i].source) etc_install(etcfd, &etc[i]);
  }
  for (int i = 0; i < s.nmounts; i++) {
    struct file_mount *fm = &fmounts[i];
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", s.mounts[i].target);
    char *slash = strrchr(dir, '/');
    *slash = 0;
    /* Missing parents are made as for mount points (rbuild removes them after the step, as it does those);
       the parent is opened inside the root and the name is never followed. */
    fm->g.fd = -1;
    snprintf(fm->anc, sizeof fm->anc, "%s", dir);
    for (;;) {
      int afd = open_in_root(rootfd, fm->anc[0] ? fm->anc : "/", O_RDONLY | O_DIRECTORY);
      if (afd >= 0) { guard_begin(&fm->g, afd); break; }
      if (!fm->anc[0]) fail("open", errno, "the root file system");
      *strrchr(fm->anc, '/') = 0;
    }
    if (dir[0] && ensure_in_root(rootfd, dir, 1) < 0) fail("mkdir", errno, "directory of %s in the root", s.mounts[i].target);
    fm->dirfd = open_in_root(rootfd, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY);
    if (fm->dirfd < 0) fail("open", errno, "directory of %s in the root", s.mounts[i].target);
    /* The name points into the spec (it outlives this loop; dir does not). */
    fm->f = (struct etc_file){ strrchr(s.mounts[i].target, '/') + 1, s.mounts[i].source, 0, NULL, 0, { 0 } };
    etc_install(fm->dirfd, &fm->f);
    if (fm->f.state == 0) fail("mount", EEXIST, "%s in the root is not a regular file", s.mounts[i].target);
    /* The owner and mode the source has, as a bind mount would show them (a secret's 0400 root...). */
    if (fchownat(fm->dirfd, fm->f.name, fm->src.st_uid, fm->src.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
        fchmodat(fm->dirfd, fm->f.name, fm->src.st_mode & 07777, 0) < 0)
      fail("chown", errno, "%s in the root", s.mounts[i].target);
  }
  guard_mark(&groot, 0);
  guard_mark(&gdev, 0);
  guard_mark(&getc_, 0);
  for (int i = 0; i < s.nmounts; i++) guard_mark(&fmounts[i].g, 0);

  int go[2], msg[2];
  if (pipe2(go, O_CLOEXEC) < 0 || pipe2(msg, O_CLOEXEC) < 0) fail("pipe", errno, "out of file descriptors?");
  sigset_t set;
  block_step_signals(&set);
  /* A PID namespace when the container allows one (the step then cannot signal rbuild, and nothing it starts
     outlives it); Docker's default profile does not. */
  int pidns = unshare(CLONE_NEWPID) == 0;
  pid_t child = fork();
  if (child < 0) fail("fork", errno, "cannot start the step");
  if (child == 0) {
    close(go[1]);
    close(msg[0]);
    if (status_fd >= 0) close(status_fd);
    if (control_fd >= 0) close(control_fd);
    exec_chroot_step(&s, rootfd, go[0], msg[1]);
  }
  close(go[0]);
  close(msg[1]);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);
  if (sfd < 0) fail("signalfd", errno, "cannot watch signals");
  writef(status_fd, "pid\t%d\n", child);
  if (control_fd < 0) write_all(go[1], "go\n", 3);

  static struct step_msgs msgs;
  struct supervisor sv = { .child = child, .group = !pidns, .sigfd = sfd, .msgfd = msg[0], .read_msg = read_step_msgs, .arg = &msgs,
                           .ctlfd = control_fd, .gofd = go[1] };
  supervise(&sv);
  /* What the step left running in its process group goes with it (with a PID namespace, the kernel did it). */
  if (!pidns) kill(-child, SIGKILL);
  close(go[1]);

  guard_mark(&groot, 1);
  guard_mark(&gdev, 1);
  guard_mark(&getc_, 1);
  for (int i = 0; i < s.nmounts; i++) guard_mark(&fmounts[i].g, 1);
  for (size_t i = 0; i < sizeof chroot_devs / sizeof chroot_devs[0]; i++) {
    struct stat dst;
    if (chroot_devs[i].created && fstatat(devfd, chroot_devs[i].name, &dst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISCHR(dst.st_mode))
      unlinkat(devfd, chroot_devs[i].name, 0);
  }
  close(devfd);
  if (dev_created) unlinkat(rootfd, "dev", AT_REMOVEDIR); /* only if the step left it empty */
  for (int i = s.nmounts - 1; i >= 0; i--) {
    struct file_mount *fm = &fmounts[i];
    etc_restore(fm->dirfd, &fm->f);
    close(fm->dirfd);
    /* The directories made for it, deepest first, each only if the step left it empty. */
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", s.mounts[i].target);
    *strrchr(p, '/') = 0;
    while (strlen(p) > strlen(fm->anc)) {
      char *sl = strrchr(p, '/');
      *sl = 0;
      int pfd = open_in_root(rootfd, p[0] ? p : "/", O_PATH | O_DIRECTORY);
      if (pfd >= 0) { unlinkat(pfd, sl + 1, AT_REMOVEDIR); close(pfd); }
    }
    guard_restore(&fm->g);
  }
  if (etcfd >= 0) {
    for (int i = 0; i < 2; i++) etc_restore(etcfd, &etc[i]);
    close(etcfd);
    if (etc_created) unlinkat(rootfd, "etc", AT_REMOVEDIR);
  }
  guard_restore(&gdev);
  guard_restore(&getc_);
  guard_restore(&groot);
  close(rootfd);

  char *errline = msgs.buf;
  errline[msgs.len] = 0;
  if (strncmp(errline, "error\t", 6) == 0) {
    char *nl = strchr(errline, '\n');
    if (nl) *nl = 0;
    if (status_fd >= 0) writef(status_fd, "%s\n", errline);
    else writef(2, "rbuild-helper: %s\n", errline + 6);
    return RBUILD_HELPER_EXIT_ERROR;
  }
  reap_status_line(status_fd, sv.status);
  return exit_code_of(sv.status);
}

/* ---------- features: what this helper can do here ---------- */

/* Tries unshare(flags) (and making / private when a mount namespace is asked for) in a child; 0 or the errno. */
static int probe_unshare(int flags) {
  pid_t c = fork();
  if (c < 0) return errno;
  if (c == 0) {
    if (unshare(flags) < 0) _exit(errno & 0xff);
    if ((flags & CLONE_NEWNS) && mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) _exit(errno & 0xff);
    _exit(0);
  }
  int st;
  while (waitpid(c, &st, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(st) ? WEXITSTATUS(st) : EINVAL;
}

static void print_probe(const char *name, int err) {
  if (!err) printf("%s 1\n", name);
  else {
    const char *en = strerrorname_np(err);
    printf("%s 0 %s\n", name, en ? en : "EUNKNOWN");
  }
}

/* ---------- deny-ns: a test harness that forbids what locked-down CI containers forbid ---------- */

/* Runs CMD the way Docker's default profile confines a container: bounding set cut to Docker's default
   capabilities (no CAP_SYS_ADMIN) and a seccomp filter failing unshare, namespace-creating clone, setns and the
   mount family with EPERM (clone3 with ENOSYS, so libc falls back to clone). Used by rbuild's e2e tests. */
static int cmd_deny_ns(int argc, char **argv) {
  int i = 2;
  if (i < argc && strcmp(argv[i], "--") == 0) i++;
  if (i >= argc) fail("usage", 0, "deny-ns needs -- CMD");
#ifndef RBUILD_HAVE_SECCOMP
  fail("deny-ns", ENOSYS, "built without libseccomp (apt-get install libseccomp-dev && npm rebuild)");
#else
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) fail("seccomp_init", ENOMEM, "libseccomp");
  const char *denied[] = { "unshare", "setns", "mount", "umount2", "pivot_root", "fsopen", "fsmount", "fsconfig",
                           "fspick", "move_mount", "open_tree", "mount_setattr" };
  for (size_t k = 0; k < sizeof denied / sizeof denied[0]; k++) add_rule(ctx, SCMP_ACT_ERRNO(EPERM), denied[k], 0, NULL);
  const unsigned long nsflags[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWCGROUP };
  for (size_t k = 0; k < sizeof nsflags / sizeof nsflags[0]; k++) {
    struct scmp_arg_cmp a = { .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = nsflags[k], .datum_b = nsflags[k] };
    add_rule(ctx, SCMP_ACT_ERRNO(EPERM), "clone", 1, &a);
  }
  add_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
  if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0) < 0) fail("seccomp_attr_set", EINVAL, "SCMP_FLTATR_CTL_NNP");
  int rc = seccomp_load(ctx);
  seccomp_release(ctx);
  if (rc < 0) fail("seccomp_load", -rc, "deny-ns needs CAP_SYS_ADMIN to load its filter");
  drop_bounding();
  execvp(argv[i], argv + i);
  fail("execvp", errno, "cannot run %s", argv[i]);
#endif
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "version") == 0) {
    printf("rbuild-helper %d\n", RBUILD_HELPER_PROTOCOL);
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "features") == 0) {
#ifdef RBUILD_HAVE_SECCOMP
    printf("seccomp 1\n");
#else
    printf("seccomp 0\n");
#endif
    printf("chroot 1\n");
    print_probe("userns", probe_unshare(CLONE_NEWUSER));
    /* What `userns` needs for rbuild's own namespace: root a mount namespace only, others both. */
    print_probe("mountns", probe_unshare(geteuid() == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS));
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "userns") == 0) return cmd_userns(argc, argv);
  if (argc > 1 && strcmp(argv[1], "run") == 0) return cmd_run(argc, argv);
  if (argc > 1 && strcmp(argv[1], "run-chroot") == 0) return cmd_run_chroot(argc, argv);
  if (argc > 1 && strcmp(argv[1], "deny-ns") == 0) return cmd_deny_ns(argc, argv);
  fprintf(stderr, "rbuild-helper: usage: rbuild-helper version|features|userns|run|run-chroot|deny-ns\n");
  return 2;
}
