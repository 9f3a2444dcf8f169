/* SPDX-License-Identifier: Apache-2.0 */
/* interrupted_recv restart|intr: a blocking recv that a signal interrupts.
 * Another thread sends SIGUSR1 to the receiving thread after 150 ms and one
 * byte after 300 ms. The handler is installed with SA_RESTART (`restart`: the
 * kernel restarts recv after it) or without (`intr`: recv fails with EINTR).
 * Prints what recv returned; exits 0 when it returned the byte and the
 * handler ran once, 1 otherwise. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled;
static int sv[2];
static pthread_t receiver;

static void on_usr1(int sig) {
  (void)sig;
  handled++;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void* sender(void* arg) {
  (void)arg;
  sleep_ms(150);
  pthread_kill(receiver, SIGUSR1);
  sleep_ms(150);
  if (write(sv[1], "x", 1) != 1)
    perror("write");
  return NULL;
}

int main(int argc, char** argv) {
  int restart = argc > 1 && strcmp(argv[1], "restart") == 0;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_usr1;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGUSR1, &sa, NULL) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
    perror("setup");
    return 2;
  }
  receiver = pthread_self();
  pthread_t t;
  pthread_create(&t, NULL, sender, NULL);
  char c = 0;
  ssize_t n = recv(sv[0], &c, 1, 0);
  int err = errno;
  pthread_join(t, NULL);
  printf("recv %zd %s, handler ran %d time(s)\n", n, n < 0 ? strerror(err) : "", (int)handled);
  return n == 1 && c == 'x' && handled == 1 ? 0 : 1;
}
