/* Counts the SIGINTs it receives: prints "ready" once its handler is set,
 * then waits about 3 s (restarting its sleep) and prints the count. */
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
  for (int i = 0; i < 60; i++) {
    struct timespec ts = {0, 50 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  printf("sigint %d\n", (int)count);
  return 0;
}
