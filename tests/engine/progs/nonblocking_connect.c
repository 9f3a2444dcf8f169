/* SPDX-License-Identifier: Apache-2.0 */
/* nonblocking_connect PORT [MODE]: connects a non-blocking TCP socket to
 * 127.0.0.1:PORT as event loops do: connect answers EINPROGRESS, the client
 * waits until the socket is writable (10 s at most) and learns the outcome.
 * MODE says how:
 *   poll           poll, then getsockopt(SO_ERROR) (the default)
 *   connect-again  poll, then connect again on the same fd, as Perl's and
 *                  Ruby's socket libraries do (0 or EISCONN is connected, an
 *                  error is the outcome)
 *   pollerr        poll, and a POLLERR is a failure whatever SO_ERROR says
 *                  afterwards, as curl decides
 *   epoll-lt       level-triggered epoll, then SO_ERROR
 *   epoll-et       edge-triggered epoll (Go's netpoller), then SO_ERROR
 * Connected, it reads one byte from the server and prints
 * "connected MS BYTE"; otherwise it prints "failed MS ERRNO-NAME" and exits
 * 1. MS: milliseconds since the first connect. Exit 2: setup error. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int failed(long start, int err) {
  printf("failed %ld %s\n", now_ms() - start, strerrorname_np(err));
  return 1;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: nonblocking_connect PORT [MODE]\n");
    return 2;
  }
  const char* mode = argc > 2 ? argv[2] : "poll";
  const int again = strcmp(mode, "connect-again") == 0;
  const int pollerr = strcmp(mode, "pollerr") == 0;
  const int epoll_lt = strcmp(mode, "epoll-lt") == 0;
  const int epoll_et = strcmp(mode, "epoll-et") == 0;
  if (!again && !pollerr && !epoll_lt && !epoll_et && strcmp(mode, "poll") != 0) {
    fprintf(stderr, "nonblocking_connect: unknown mode %s\n", mode);
    return 2;
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((unsigned short)atoi(argv[1]));
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket");
    return 2;
  }
  const long start = now_ms();
  if (connect(fd, (const struct sockaddr*)&addr, sizeof addr) != 0) {
    if (errno != EINPROGRESS)
      return failed(start, errno);
    if (epoll_lt || epoll_et) {
      const int ep = epoll_create1(EPOLL_CLOEXEC);
      struct epoll_event ev = {.events = EPOLLOUT | (epoll_et ? EPOLLET : 0), .data.fd = fd};
      struct epoll_event got;
      if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0 ||
          epoll_wait(ep, &got, 1, 10000) != 1 || got.data.fd != fd) {
        fprintf(stderr, "epoll: the connect did not end in 10 s\n");
        return 2;
      }
      close(ep);
    } else {
      struct pollfd p = {fd, POLLOUT, 0};
      if (poll(&p, 1, 10000) != 1) {
        fprintf(stderr, "poll: the connect did not end in 10 s\n");
        return 2;
      }
      if (pollerr && (p.revents & POLLERR) != 0) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        return failed(start, err != 0 ? err : ECONNABORTED);
      }
    }
    if (again) {
      if (connect(fd, (const struct sockaddr*)&addr, sizeof addr) != 0 && errno != EISCONN)
        return failed(start, errno);
    } else {
      int err = 0;
      socklen_t len = sizeof err;
      if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        perror("getsockopt");
        return 2;
      }
      if (err != 0)
        return failed(start, err);
    }
  }
  const long ms = now_ms() - start;
  struct pollfd p = {fd, POLLIN, 0};
  char byte = '?';
  if (poll(&p, 1, 10000) != 1 || read(fd, &byte, 1) != 1) {
    fprintf(stderr, "connected, but no byte came from the server\n");
    return 2;
  }
  printf("connected %ld %c\n", ms, byte);
  return 0;
}
