/* SPDX-License-Identifier: Apache-2.0 */
/* close_during_wait PORT MS: connects a non-blocking TCP socket to
 * 127.0.0.1:PORT, waits with poll, and reads SO_ERROR in the main thread,
 * while a second thread, MS milliseconds after the connect, closes the socket
 * and opens a fresh TCP socket, which takes the same fd number. A library
 * that retries the connect from within poll or getsockopt must notice that
 * the fd no longer names the socket it connected, and connect nothing. It
 * prints
 * "so_error ERRNO-NAME|0 reused 0|1 fresh ERRNO-NAME|connected" (fresh: what
 * getpeername says of the fresh socket) and exits 0; 2 on a setup error. */
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
#include <time.h>
#include <unistd.h>

static int g_fd = -1;
static int g_fresh = -1;
static long g_ms = 0;

static void* closer(void* unused) {
  (void)unused;
  struct timespec ts = {g_ms / 1000, (g_ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  close(g_fd);
  g_fresh = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: close_during_wait PORT MS\n");
    return 2;
  }
  g_ms = atol(argv[2]);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  addr.sin_port = htons((unsigned short)atoi(argv[1]));
  g_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (g_fd < 0 || connect(g_fd, (struct sockaddr*)&addr, sizeof addr) == 0 || errno != EINPROGRESS)
    return 2;
  const int fd = g_fd;
  pthread_t t;
  if (pthread_create(&t, NULL, closer, NULL) != 0)
    return 2;
  /* The fd may be closed under these calls: POLLNVAL and EBADF are possible
   * answers too. */
  struct pollfd p = {fd, POLLOUT, 0};
  if (poll(&p, 1, 10000) != 1)
    return 2;
  int err = 0;
  socklen_t len = sizeof err;
  const int r = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
  pthread_join(t, NULL);
  struct sockaddr_in peer;
  socklen_t pl = sizeof peer;
  const int connected = getpeername(g_fresh, (struct sockaddr*)&peer, &pl) == 0;
  const int peer_errno = errno;
  printf("so_error %s reused %d fresh %s\n",
         r != 0 ? strerrorname_np(errno) : err != 0 ? strerrorname_np(err) : "0",
         g_fresh == fd, connected ? "connected" : strerrorname_np(peer_errno));
  return 0;
}
