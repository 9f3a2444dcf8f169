// SPDX-License-Identifier: Apache-2.0
/*
 * engine_overhead MODE N: the no-fault cost of the engines on two workloads.
 *   write  N 1-byte writes to /dev/null (after N/10 for warm-up); prints the
 *          mean cost per write in nanoseconds (monotonic clock)
 *   mmap   the seed paper's benchmark: N times, mmap 128 MiB (anonymous,
 *          private, read-write) and munmap it; prints the mean duration of
 *          the mmap in CPU cycles (rdtsc), as the paper reports it
 *   poll   N polls (timeout 0) of a writable pipe; prints ns per poll
 *   connect N non-blocking connects to a loopback listener, as event loops
 *          make them (connect, poll until writable, getsockopt SO_ERROR,
 *          accept, close both); prints ns per connect
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int bench_write(long n) {
  int fd = open("/dev/null", O_WRONLY);
  if (fd < 0) {
    perror("/dev/null");
    return 1;
  }
  char byte = 'x';
  for (long i = 0; i < n / 10; i++)
    (void)!write(fd, &byte, 1);
  double start = now_ns();
  for (long i = 0; i < n; i++)
    (void)!write(fd, &byte, 1);
  printf("%.2f\n", (now_ns() - start) / (double)n);
  return 0;
}

static int bench_mmap(long n) {
  const size_t size = (size_t)128 << 20;
  uint64_t total = 0;
  for (long i = 0; i < n; i++) {
    _mm_lfence();
    uint64_t t0 = __rdtsc();
    void* p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    _mm_lfence();
    uint64_t t1 = __rdtsc();
    if (p == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
    total += t1 - t0;
    munmap(p, size);
  }
  printf("%.1f\n", (double)total / (double)n);
  return 0;
}

static int bench_poll(long n) {
  int fds[2];
  if (pipe(fds) != 0) {
    perror("pipe");
    return 1;
  }
  struct pollfd p = {fds[1], POLLOUT, 0};
  for (long i = 0; i < n / 10; i++)
    (void)poll(&p, 1, 0);
  double start = now_ns();
  for (long i = 0; i < n; i++)
    (void)poll(&p, 1, 0);
  printf("%.2f\n", (now_ns() - start) / (double)n);
  return 0;
}

static int connect_once(int listener, const struct sockaddr_in* addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (const struct sockaddr*)addr, sizeof *addr) != 0 && errno != EINPROGRESS)
    return -1;
  struct pollfd p = {fd, POLLOUT, 0};
  int err = 0;
  socklen_t len = sizeof err;
  if (poll(&p, 1, 1000) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err)
    return -1;
  int conn = accept(listener, NULL, NULL);
  if (conn < 0)
    return -1;
  close(conn);
  close(fd);
  return 0;
}

static int bench_connect(long n) {
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof addr;
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0 || bind(listener, (struct sockaddr*)&addr, sizeof addr) != 0 ||
      listen(listener, 16) != 0 || getsockname(listener, (struct sockaddr*)&addr, &len) != 0) {
    perror("listener");
    return 1;
  }
  for (long i = 0; i < n / 10; i++)
    if (connect_once(listener, &addr) != 0) {
      perror("connect");
      return 1;
    }
  double start = now_ns();
  for (long i = 0; i < n; i++)
    if (connect_once(listener, &addr) != 0) {
      perror("connect");
      return 1;
    }
  printf("%.2f\n", (now_ns() - start) / (double)n);
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: engine_overhead write|mmap|poll|connect N\n");
    return 2;
  }
  long n = atol(argv[2]);
  if (strcmp(argv[1], "write") == 0)
    return bench_write(n);
  if (strcmp(argv[1], "mmap") == 0)
    return bench_mmap(n);
  if (strcmp(argv[1], "poll") == 0)
    return bench_poll(n);
  if (strcmp(argv[1], "connect") == 0)
    return bench_connect(n);
  fprintf(stderr, "engine_overhead: unknown mode '%s'\n", argv[1]);
  return 2;
}
