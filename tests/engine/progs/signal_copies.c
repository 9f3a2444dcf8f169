// SPDX-License-Identifier: Apache-2.0
/* Counts the SIGTERMs it receives: prints "ready PID", and "got 1" once the
 * first was handled; then waits 2 s for more and prints "terms N". */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void on_term(int sig) {
  (void)sig;
  count++;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  printf("ready %d\n", (int)getpid());
  fflush(stdout);
  const struct timespec tick = {0, 20 * 1000 * 1000};
  for (int i = 0; i < 30 * 50 && count == 0; i++)
    nanosleep(&tick, NULL);
  printf("got %d\n", (int)count);
  fflush(stdout);
  for (int i = 0; i < 2 * 50; i++)
    nanosleep(&tick, NULL);
  printf("terms %d\n", (int)count);
  return 0;
}
