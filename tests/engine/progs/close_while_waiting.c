/* SPDX-License-Identifier: Apache-2.0 */
/* close_while_waiting PORT [after-poll|before-poll]: connects a non-blocking
 * TCP socket to 127.0.0.1:PORT (refused: nothing listens yet), waits until it
 * is writable, starts a thread that closes the socket 50 ms later and opens a
 * new, unconnected TCP socket in its place (the same fd number), and reads
 * SO_ERROR meanwhile. before-poll starts the thread before the poll, for an
 * engine that retries inside poll. When getsockopt returns it waits for the closer, gives
 * a stray connect 700 ms to happen, and prints "so_error ERRNO-NAME peer
 * ERRNO-NAME|connected" (getpeername of the new socket) and exits 0; 2 on a
 * setup error. Under ftsc with a connect rule, the read waits for the rule's
 * first retry, which must not connect the new socket. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int g_fd = -1;
static int g_replaced = -1;

static void* closer(void* arg) {
  (void)arg;
  usleep(50000);
  close(g_fd);
  g_replaced = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2)
    return 2;
  const int before_poll = argc > 2 && strcmp(argv[2], "before-poll") == 0;
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)atoi(argv[1]));
  g_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (g_fd < 0 ||
      (connect(g_fd, (const struct sockaddr*)&addr, sizeof addr) != 0 && errno != EINPROGRESS))
    return 2;
  const int fd = g_fd;
  pthread_t t;
  if (before_poll && pthread_create(&t, NULL, closer, NULL) != 0)
    return 2;
  struct pollfd p = {fd, POLLOUT, 0};
  if (poll(&p, 1, 10000) != 1)
    return 2;
  if (!before_poll && pthread_create(&t, NULL, closer, NULL) != 0)
    return 2;
  int err = 0;
  socklen_t len = sizeof err;
  int r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  pthread_join(t, NULL);
  if (r != 0)
    err = errno;
  usleep(700000);
  struct sockaddr_in peer;
  socklen_t peer_len = sizeof peer;
  const char* state = "connected";
  if (g_replaced != fd)
    state = "not-the-same-fd";
  else if (getpeername(g_replaced, (struct sockaddr*)&peer, &peer_len) != 0)
    state = strerrorname_np(errno);
  printf("so_error %s peer %s\n", err ? strerrorname_np(err) : "0", state);
  return 0;
}
