// SPDX-License-Identifier: Apache-2.0
/*
 * engine_overhead MODE N: the no-fault cost of the engines on two workloads.
 *   write  N 1-byte writes to /dev/null (after N/10 for warm-up); prints the
 *          mean cost per write in nanoseconds (monotonic clock)
 *   mmap   the seed paper's benchmark: N times, mmap 128 MiB (anonymous,
 *          private, read-write) and munmap it; prints the mean duration of
 *          the mmap in CPU cycles (rdtsc), as the paper reports it
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: engine_overhead write|mmap N\n");
    return 2;
  }
  long n = atol(argv[2]);
  if (strcmp(argv[1], "write") == 0)
    return bench_write(n);
  if (strcmp(argv[1], "mmap") == 0)
    return bench_mmap(n);
  fprintf(stderr, "engine_overhead: unknown mode '%s'\n", argv[1]);
  return 2;
}
