/* SPDX-License-Identifier: Apache-2.0 */
/* established_reset: a connection that was established and is then reset by
 * its peer reads ECONNRESET from SO_ERROR, as a refused connect reads
 * ECONNREFUSED; a policy that retries connect must not reconnect it. The
 * program listens on 127.0.0.1 itself, connects a non-blocking socket, waits
 * until it is writable, accepts and resets the connection (SO_LINGER 0), waits
 * for the reset and reads SO_ERROR. It prints "so_error ERRNO-NAME accepted N"
 * (N: connections the listener got, 1 unless someone connected again) and
 * exits 0; 2 on a setup error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (l < 0 || bind(l, (struct sockaddr*)&a, sizeof a) != 0 || listen(l, 4) != 0 ||
      getsockname(l, (struct sockaddr*)&a, &al) != 0)
    return 2;
  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c < 0 || (connect(c, (struct sockaddr*)&a, sizeof a) != 0 && errno != EINPROGRESS))
    return 2;
  struct pollfd out = {c, POLLOUT, 0};
  if (poll(&out, 1, 5000) != 1)
    return 2;
  struct pollfd in = {l, POLLIN, 0};
  if (poll(&in, 1, 5000) != 1)
    return 2;
  int s = accept(l, NULL, NULL);
  struct linger reset = {1, 0};
  if (s < 0 || setsockopt(s, SOL_SOCKET, SO_LINGER, &reset, sizeof reset) != 0)
    return 2;
  close(s);  /* an RST to the client */
  struct pollfd err = {c, POLLIN, 0};
  if (poll(&err, 1, 5000) != 1)
    return 2;
  int e = 0;
  socklen_t el = sizeof e;
  if (getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &el) != 0)
    return 2;
  usleep(200000); /* time for a stray reconnection to reach the listener */
  int accepted = 1;
  while (accept(l, NULL, NULL) >= 0)
    accepted++;
  printf("so_error %s accepted %d\n", e ? strerrorname_np(e) : "0", accepted);
  return 0;
}
