/* SPDX-License-Identifier: Apache-2.0 */
/* two_connects PORT1 PORT2: two non-blocking TCP connects in flight at once,
 * to 127.0.0.1:PORT1 and 127.0.0.1:PORT2 (as happy eyeballs has an IPv6 and
 * an IPv4 attempt side by side), both waited for with one poll, then the
 * outcome of each read with SO_ERROR. Prints "first ERRNO-NAME|0 second
 * ERRNO-NAME|0" and exits 0; 2 on a setup error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int start(const char* port) {
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)atoi(port));
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      (connect(fd, (const struct sockaddr*)&addr, sizeof addr) != 0 && errno != EINPROGRESS))
    return -1;
  return fd;
}

static const char* outcome(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    return "getsockopt-failed";
  return err ? strerrorname_np(err) : "0";
}

int main(int argc, char** argv) {
  if (argc != 3)
    return 2;
  int fds[2] = {start(argv[1]), start(argv[2])};
  if (fds[0] < 0 || fds[1] < 0)
    return 2;
  struct pollfd p[2] = {{fds[0], POLLOUT, 0}, {fds[1], POLLOUT, 0}};
  int ready = 0;
  while (ready < 2) {
    if (poll(p, 2, 10000) <= 0)
      return 2;
    for (int i = 0; i < 2; i++)
      if (p[i].revents) {
        p[i].fd = -1;
        ready++;
      }
  }
  const char* first = outcome(fds[0]);
  printf("first %s second %s\n", first, outcome(fds[1]));
  return 0;
}
