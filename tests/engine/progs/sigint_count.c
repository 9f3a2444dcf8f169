// SPDX-License-Identifier: Apache-2.0
/* Counts the SIGINTs it receives: prints "ready" once its handler is set,
 * waits for the first SIGINT (at most 30 s), then 2 s more for any duplicate
 * (restarting its sleep), and prints the count. */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t count;

static void on_int(int sig) {
  (void)sig;
  count++;
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_int;
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);
  const struct timespec tick = {0, 50 * 1000 * 1000};
  for (int i = 0; i < 30 * 20 && count == 0; i++)
    nanosleep(&tick, NULL);
  for (int i = 0; i < 2 * 20; i++)
    nanosleep(&tick, NULL);
  printf("sigint %d\n", (int)count);
  return 0;
}
