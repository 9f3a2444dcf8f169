// SPDX-License-Identifier: Apache-2.0
/* Job control under a tracer: prints "stopping PID", stops itself with
 * SIGSTOP as a job does at ^Z, and prints "continued" once whoever watches it
 * (the test, in place of a shell's `fg`) has seen it stopped and sent SIGCONT.
 * The program never continues itself: a SIGCONT sent before the stop would
 * leave it stopped for good. */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  printf("stopping %ld\n", (long)getpid());
  fflush(stdout);
  raise(SIGSTOP);
  printf("continued\n");
  return 0;
}
