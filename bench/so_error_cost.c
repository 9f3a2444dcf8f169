/* SPDX-License-Identifier: Apache-2.0 */
/* so_error_cost KIND N: what a program pays for reading a socket's options
 * under a policy with a connect rule, which makes the ptrace engine's filter
 * stop getsockopt(SOL_SOCKET, SO_ERROR) (src/ptrace/async_connect.cc).
 *   so_error  N reads of SO_ERROR on one unconnected TCP socket
 *   other     N reads of TCP_NODELAY (not stopped)
 *   connect   N non-blocking connects to a loopback listener, each waited for
 *             with poll and read with SO_ERROR (the read of a remembered fd:
 *             one more exit stop), then closed
 * Prints "KIND NS" (nanoseconds per read, or per connect). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int connects(long n) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, 128) != 0 ||
      getsockname(l, (struct sockaddr*)&a, &al) != 0)
    return 2;
  for (long i = 0; i < n; i++) {
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c < 0 || (connect(c, (struct sockaddr*)&a, sizeof a) != 0 && errno != EINPROGRESS))
      return 2;
    struct pollfd p = {c, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&p, 1, 5000) != 1 || getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err)
      return 2;
    int s = accept(l, NULL, NULL);
    close(c);
    if (s >= 0)
      close(s);
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3)
    return 2;
  const long n = atol(argv[2]);
  const double start = now_ns();
  if (strcmp(argv[1], "connect") == 0) {
    if (connects(n) != 0)
      return 2;
  } else {
    const int other = strcmp(argv[1], "other") == 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    for (long i = 0; i < n; i++) {
      int v = 0;
      socklen_t len = sizeof v;
      if (getsockopt(fd, other ? IPPROTO_TCP : SOL_SOCKET, other ? TCP_NODELAY : SO_ERROR, &v,
                     &len) != 0)
        return 2;
    }
  }
  printf("%s %.0f\n", argv[1], (now_ns() - start) / (double)n);
  return 0;
}
