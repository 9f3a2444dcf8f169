// SPDX-License-Identifier: Apache-2.0
/* A program that uses ptrace itself (as a debugger would): PTRACE_TRACEME.
 * Prints what ptrace returned; exits 0 either way. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>

int main(void) {
  long r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
  printf("ptrace: %s\n", r == 0 ? "ok" : strerror(errno));
  return 0;
}
