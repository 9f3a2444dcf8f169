// SPDX-License-Identifier: Apache-2.0
/* A sandboxed program: its own seccomp filter refuses poll(2), with EPERM
 * ("errno") or by killing the process ("kill"). A tracer that waits for a
 * retry inside the program must not let the filter's refusal corrupt it or
 * kill it. What it then does:
 *   ACTION              make a directory whose parent does not exist, twice:
 *                       ENOENT both times, exit 0;
 *   ACTION late DIR     make DIR/sub, where DIR is made by a child 150 ms
 *                       later: exit 0 if it finally succeeded;
 *   ACTION alarm        as the first, once, with a SIGALRM due in 1 s that a
 *                       handler catches: exit 0 if the handler ran. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig) {
  (void)sig;
  alarmed = 1;
}

static int sandbox(int kill) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_poll, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, kill ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof code / sizeof code[0], code};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) {
    perror("seccomp");
    return -1;
  }
  return 0;
}

static int make(const char* path) {
  int r = mkdir(path, 0700);
  printf("mkdir: %s\n", r == 0 ? "ok" : strerror(errno));
  return r == 0 ? 0 : errno;
}

int main(int argc, char** argv) {
  int kill = argc > 1 && strcmp(argv[1], "kill") == 0;
  if (argc > 3 && strcmp(argv[2], "late") == 0) {
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/sub", argv[3]);
    pid_t child = fork();
    if (child == 0) {
      usleep(150 * 1000);
      _exit(mkdir(argv[3], 0700) == 0 ? 0 : 1);
    }
    if (sandbox(kill) != 0)
      return 2;
    int err = make(sub);
    waitpid(child, 0, 0);
    return err == 0 ? 0 : 1;
  }
  if (argc > 2 && strcmp(argv[2], "alarm") == 0) {
    signal(SIGALRM, on_alarm);
    if (sandbox(kill) != 0)
      return 2;
    alarm(1);
    int err = make("/nonexistent/ftsc-test");
    return err == ENOENT && alarmed ? 0 : 1;
  }
  if (sandbox(kill) != 0)
    return 2;
  int failures = 0;
  for (int i = 0; i < 2; i++)
    failures += make("/nonexistent/ftsc-test") == ENOENT;
  return failures == 2 ? 0 : 1;
}
