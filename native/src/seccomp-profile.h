/* Docker's default seccomp profile, resolved for the step's capability set.
 *
 * Source: moby/moby profiles/seccomp/default.json (commit 00f3d189e420d485e42d15fe494f96d272284e0e),
 * Copyright Docker, Inc. and the Moby authors, licensed under the Apache License 2.0
 * (https://www.apache.org/licenses/LICENSE-2.0); containers/common pkg/seccomp/seccomp.json is the same family.
 *
 * How it was made: the JSON's rules were evaluated by hand the way moby's profiles/seccomp/seccomp_linux.go
 * does for a container with Docker's default capabilities (helper.c default_caps: no CAP_SYS_ADMIN,
 * CAP_SYS_PTRACE, CAP_SYS_MODULE, ...; CAP_SYS_CHROOT yes) on a kernel >= 4.8, and written out as the tables
 * below; no generator is kept. To update: diff the new default.json against the commit above and apply the
 * changes here. Names unknown to the installed libseccomp are skipped at load time, as runc does.
 */
#ifndef RBUILD_SECCOMP_PROFILE_H
#define RBUILD_SECCOMP_PROFILE_H

#include <errno.h>
#include <stdint.h>
#include <seccomp.h>

/* Every name in the profile's unconditional allow group, plus the groups the default capabilities include:
   minKernel 4.8 (ptrace, process_vm_*) and CAP_SYS_CHROOT (chroot). */
static const char *const rb_seccomp_allow[] = {
  "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "capget", "capset", "chdir", "chmod", "chown",
  "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
  "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
  "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
  "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit",
  "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir",
  "fchmod", "fchmodat", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr", "flistxattr",
  "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync",
  "ftruncate", "ftruncate64", "futex", "futex_time64", "futex_waitv", "futimesat", "getcpu", "getcwd", "getdents",
  "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
  "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
  "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
  "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "inotify_add_watch",
  "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
  "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit", "io_uring_enter",
  "io_uring_register", "io_uring_setup", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
  "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen", "listxattr", "llistxattr",
  "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise", "membarrier", "memfd_create",
  "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
  "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
  "mq_timedsend_time64", "mq_unlink", "mremap", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
  "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
  "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll",
  "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
  "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
  "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr", "rename",
  "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
  "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64",
  "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
  "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
  "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
  "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg",
  "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32", "setgroups",
  "setgroups32", "setitimer", "setpgid", "setpriority", "setregid", "setregid32", "setresgid", "setresgid32",
  "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt",
  "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr", "shmat", "shmctl", "shmdt", "shmget",
  "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair",
  "splice", "stat", "stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
  "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime",
  "timer_gettime64", "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
  "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname",
  "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid",
  "waitpid", "write", "writev",
  /* includes minKernel 4.8 */
  "process_vm_readv", "process_vm_writev", "ptrace",
  /* includes caps CAP_SYS_CHROOT */
  "chroot",
  /* includes arches amd64/x32 (arch_prctl) and amd64/x32/x86 (modify_ldt) */
#if defined(__x86_64__) || defined(__i386__)
  "arch_prctl", "modify_ldt",
#endif
  /* includes arches arm/arm64 */
#if defined(__aarch64__) || defined(__arm__)
  "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls",
#endif
  0,
};

/* A rule with one argument condition (every conditional rule of the profile has at most one). */
struct rb_seccomp_cond {
  const char *name;
  uint32_t action;
  int nargs; /* 0 or 1 */
  unsigned int arg;
  enum scmp_compare op;
  uint64_t datum_a, datum_b;
};

/* CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET: the profile's 2114060288. */
#define RB_SECCOMP_CLONE_NS_MASK 0x7E020000ULL

static const struct rb_seccomp_cond rb_seccomp_cond_rules[] = {
  /* socket unless AF_VSOCK (40) */
  { "socket", SCMP_ACT_ALLOW, 1, 0, SCMP_CMP_NE, 40, 0 },
  /* personality: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and the 0xffffffff query */
  { "personality", SCMP_ACT_ALLOW, 1, 0, SCMP_CMP_EQ, 0x0, 0 },
  { "personality", SCMP_ACT_ALLOW, 1, 0, SCMP_CMP_EQ, 0x8, 0 },
  { "personality", SCMP_ACT_ALLOW, 1, 0, SCMP_CMP_EQ, 0x20000, 0 },
  { "personality", SCMP_ACT_ALLOW, 1, 0, SCMP_CMP_EQ, 0x20008, 0 },
  { "personality", SCMP_ACT_ALLOW, 1, 0, SCMP_CMP_EQ, 0xffffffffULL, 0 },
  /* excludes caps CAP_SYS_ADMIN: clone without any namespace flag (s390's argument order is not handled) */
  { "clone", SCMP_ACT_ALLOW, 1, 0, SCMP_CMP_MASKED_EQ, RB_SECCOMP_CLONE_NS_MASK, 0 },
  /* excludes caps CAP_SYS_ADMIN: clone3's flags are in memory seccomp cannot read; ENOSYS makes libc use clone */
  { "clone3", SCMP_ACT_ERRNO(ENOSYS), 0, 0, SCMP_CMP_EQ, 0, 0 },
};

/* The profile's archMap for the native architecture: the 32-bit ABIs a 64-bit kernel also runs. */
static const uint32_t rb_seccomp_sub_arches[] = {
#if defined(__x86_64__)
  SCMP_ARCH_X86, SCMP_ARCH_X32,
#elif defined(__aarch64__)
  SCMP_ARCH_ARM,
#endif
  0,
};

#endif
