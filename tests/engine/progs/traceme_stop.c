// SPDX-License-Identifier: Apache-2.0
/* The start of a debugger: a child asks its parent to trace it
 * (PTRACE_TRACEME) and stops itself for it; the parent waits for that stop.
 * Natively the parent sees the child stopped, lets it go on and both exit 0.
 * Under a tracer the child's request fails and nobody would ever see the
 * stop: the parent would wait forever. */
#include <signal.h>
#include <stdio.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  pid_t child = fork();
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, 0, 0);
    raise(SIGSTOP);
    _exit(0);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) {
    perror("waitpid");
    return 2;
  }
  if (WIFSTOPPED(status)) {
    ptrace(PTRACE_CONT, child, 0, 0);
    waitpid(child, &status, 0);
  }
  puts("done");
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
