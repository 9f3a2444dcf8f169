/* SPDX-License-Identifier: Apache-2.0 */
/* A program that confines itself with a seccomp filter of its own, which
 * refuses the calls an in-process retry layer would add around a failure:
 * rt_sigprocmask, fcntl, getsockopt and ppoll (the program itself makes none
 * of them afterwards).
 *   preload_sandboxed ACTION HOW [late DIR]
 * ACTION: "errno" (EPERM) or "kill" (SECCOMP_RET_KILL_PROCESS); HOW: "libc"
 * (prctl(2) through libc, as libseccomp and most programs do) or "raw" (a
 * `syscall` instruction of its own). Then it makes a directory whose parent
 * does not exist, twice: ENOENT both times, exit 0; with "late DIR", it makes
 * DIR/sub, where DIR is made by a child 150 ms later: exit 0 if it finally
 * succeeded, 1 if not. Prints each mkdir's outcome. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int confine(int kill, int raw) {
  const unsigned refuse = kill ? SECCOMP_RET_KILL_PROCESS : SECCOMP_RET_ERRNO | EPERM;
  struct sock_filter code[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_rt_sigprocmask, 4, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fcntl, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getsockopt, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ppoll, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, refuse),
  };
  struct sock_fprog prog = {sizeof code / sizeof code[0], code};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    perror("PR_SET_NO_NEW_PRIVS");
    return -1;
  }
  long r;
  if (raw) {
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "0"((long)SYS_seccomp), "D"((long)SECCOMP_SET_MODE_FILTER), "S"(0L),
                       "d"(&prog)
                     : "rcx", "r11", "memory");
  } else {
    r = prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0 ? 0 : -errno;
  }
  if (r != 0) {
    fprintf(stderr, "seccomp: %s\n", strerror((int)-r));
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
  if (argc < 3) {
    fprintf(stderr, "usage: preload_sandboxed errno|kill libc|raw [late DIR]\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  const int kill = strcmp(argv[1], "kill") == 0;
  const int raw = strcmp(argv[2], "raw") == 0;
  if (argc > 4 && strcmp(argv[3], "late") == 0) {
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/sub", argv[4]);
    pid_t child = fork();
    if (child == 0) {
      usleep(150 * 1000);
      _exit(mkdir(argv[4], 0700) == 0 ? 0 : 1);
    }
    if (confine(kill, raw) != 0)
      return 2;
    int err = make(sub);
    waitpid(child, 0, 0);
    return err == 0 ? 0 : 1;
  }
  if (confine(kill, raw) != 0)
    return 2;
  int failures = 0;
  for (int i = 0; i < 2; i++)
    failures += make("/nonexistent/ftsc-test") == ENOENT;
  return failures == 2 ? 0 : 1;
}
