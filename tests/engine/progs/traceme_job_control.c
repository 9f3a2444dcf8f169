/* SPDX-License-Identifier: Apache-2.0 */
/* A program that once asked for a tracer (PTRACE_TRACEME, as an
 * anti-debugging check does; under ftsc it fails) and later meets job
 * control: it prints "ready PID" and waits until it has been stopped and
 * continued by someone else (SIGSTOP, then SIGCONT, as a shell's ^Z/`kill
 * -STOP` and `fg` do). Prints "continued" and exits 0. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <unistd.h>

static volatile sig_atomic_t continued;

static void on_cont(int sig) {
  (void)sig;
  continued = 1;
}

int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_cont;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCONT, &sa, NULL);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGCONT);
  sigprocmask(SIG_BLOCK, &block, &old);
  long traced = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
  printf("ready %ld (PTRACE_TRACEME: %ld)\n", (long)getpid(), traced);
  fflush(stdout);
  while (!continued)
    sigsuspend(&old);
  printf("continued\n");
  return 0;
}
