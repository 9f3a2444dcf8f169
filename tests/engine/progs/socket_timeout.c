/* SPDX-License-Identifier: Apache-2.0 */
/* socket_timeout [MS [sandbox]]: recv on a socket with SO_RCVTIMEO of MS
 * milliseconds (default 50): after the timeout it fails with EAGAIN, which
 * is the program's own protocol and must come back at once (the policy
 * retries recvfrom EAGAIN; the socket-timeout guard must stop it). With
 * `sandbox`, the program first installs a seccomp filter of its own that
 * makes getsockopt and fcntl fail with EPERM, so that an in-process engine
 * cannot check the guard. Prints the milliseconds recv took; exits 0 when it
 * failed with EAGAIN. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

static int refuse_probes(void) {
  struct sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getsockopt, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fcntl, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog fprog = {sizeof prog / sizeof prog[0], prog};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
                 prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) == 0
             ? 0
             : -1;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(int argc, char** argv) {
  long ms = argc > 1 ? atol(argv[1]) : 50;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    perror("socketpair");
    return 2;
  }
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (argc > 2 && strcmp(argv[2], "sandbox") == 0 && refuse_probes() != 0) {
    perror("seccomp");
    return 2;
  }
  char c;
  long start = now_ms();
  ssize_t n = recv(sv[0], &c, 1, 0);
  int err = errno;
  printf("%ld\n", now_ms() - start);
  if (n < 0 && err == EAGAIN)
    return 0;
  fprintf(stderr, "recv: %zd %s\n", n, n < 0 ? strerror(err) : "");
  return 1;
}
