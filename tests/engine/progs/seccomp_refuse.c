/* SPDX-License-Identifier: Apache-2.0 */
/* seccomp_refuse NR[,NR...] ERRNO COMMAND [ARGS...]: installs a seccomp filter
 * that makes the syscalls numbered NR fail with ERRNO (as a container
 * runtime's profile does: Docker's default refuses pidfd_getfd without
 * CAP_SYS_PTRACE), then execs COMMAND. The filter stays with COMMAND and
 * everything it starts. Exits 125 when it cannot set up. */
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
#include <unistd.h>

#define MAX_CALLS 16

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: seccomp_refuse NR[,NR...] ERRNO COMMAND [ARGS...]\n");
    return 125;
  }
  long nrs[MAX_CALLS];
  int n = 0;
  for (char* p = argv[1]; *p != '\0' && n < MAX_CALLS;) {
    char* end;
    nrs[n++] = strtol(p, &end, 10);
    p = *end == ',' ? end + 1 : end;
    if (end == p && *end != '\0') {
      fprintf(stderr, "seccomp_refuse: bad syscall list '%s'\n", argv[1]);
      return 125;
    }
  }
  const unsigned err = (unsigned)atoi(argv[2]) & SECCOMP_RET_DATA;

  /* arch check, then one comparison per number, then allow */
  struct sock_filter prog[4 + 2 * MAX_CALLS + 1];
  int k = 0;
  prog[k++] =
      (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
  prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0);
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  prog[k++] =
      (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
  for (int i = 0; i < n; ++i) {
    prog[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nrs[i], 0, 1);
    prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err);
  }
  prog[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  struct sock_fprog fprog = {(unsigned short)k, prog};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
    perror("seccomp_refuse: cannot install the filter");
    return 125;
  }
  execvp(argv[3], argv + 3);
  fprintf(stderr, "seccomp_refuse: cannot run %s: %s\n", argv[3], strerror(errno));
  return 125;
}
