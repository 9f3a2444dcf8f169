/* SPDX-License-Identifier: Apache-2.0 */
/* signal_during_connect_wait PORT: connects a non-blocking TCP socket to
 * 127.0.0.1:PORT (refused: nothing listens yet), waits until it is writable,
 * and reads SO_ERROR with a SIGALRM (a handler, no SA_RESTART) due 150 ms
 * after the connect. Then it gives a stray connect 700 ms to happen and prints
 * "so_error ERRNO-NAME handled N within MS" (N: times the handler ran; MS:
 * milliseconds from the connect to getsockopt's return) and exits 0; 2 on a
 * setup error. Under ftsc with a long first delay, the signal ends the wait:
 * getsockopt returns the errno and the handler runs. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t g_handled = 0;

static void on_alarm(int sig) {
  (void)sig;
  g_handled++;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(int argc, char** argv) {
  if (argc != 2)
    return 2;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, NULL) != 0)
    return 2;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)atoi(argv[1]));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  const long start = now_ms();
  struct itimerval due = {{0, 0}, {0, 150000}};
  if (fd < 0 || setitimer(ITIMER_REAL, &due, NULL) != 0)
    return 2;
  if (connect(fd, (const struct sockaddr*)&addr, sizeof addr) != 0 && errno != EINPROGRESS)
    return 2;
  struct pollfd p = {fd, POLLOUT, 0};
  while (poll(&p, 1, 10000) < 0)
    if (errno != EINTR)
      return 2;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return 2;
  const long ms = now_ms() - start;
  while (!g_handled)
    pause(); /* natively the alarm comes after getsockopt */
  usleep(700000);
  printf("so_error %s handled %d within %s\n", err ? strerrorname_np(err) : "0", (int)g_handled,
         ms < 1000 ? "1s" : "more");
  return 0;
}
