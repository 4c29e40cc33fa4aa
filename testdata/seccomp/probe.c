/* Calls syscalls Docker's default seccomp profile treats specially and prints "name errno" for each
   (errno 0 = allowed). Built static so it runs in a busybox root. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *name, long rc) { printf("%s %d\n", name, rc < 0 ? errno : 0); }

int main(void) {
  /* Allowed: the query form of personality and ordinary sockets. */
  report("personality-query", personality(0xffffffff));
  report("socket-unix", socket(AF_UNIX, SOCK_STREAM, 0));
  /* Outside Docker's allowlist; the former deny-list let both through. */
  report("personality-addr-no-randomize", personality(ADDR_NO_RANDOMIZE));
  report("socket-vsock", socket(40 /* AF_VSOCK */, SOCK_STREAM, 0));
  /* Outside the allowlist: keyrings are not namespaced. */
  report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
  /* clone3 answers ENOSYS so libc falls back to clone; clone with a namespace flag is refused. */
  report("clone3", syscall(SYS_clone3, NULL, 0));
  report("unshare-uts", unshare(CLONE_NEWUTS));
  /* A new user namespace needs no capability: only the filter's clone flags rule stops it. */
  long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid((pid_t)pid, NULL, 0);
  report("clone-newuser", pid);
  return 0;
}
