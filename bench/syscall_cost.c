// SPDX-License-Identifier: Apache-2.0
/*
 * syscall_cost MODE N: makes N syscalls and prints the mean cost per call in
 * nanoseconds (monotonic clock), after a warm-up of N/10 calls.
 *   getppid  a syscall outside the policy (under ftsc: only the seccomp filter runs)
 *   write    a 1-byte write to /dev/null (under ftsc: traced, and it succeeds)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: syscall_cost getppid|write N\n");
    return 2;
  }
  long n = atol(argv[2]);
  int is_write = strcmp(argv[1], "write") == 0;
  if (!is_write && strcmp(argv[1], "getppid") != 0) {
    fprintf(stderr, "syscall_cost: unknown mode '%s'\n", argv[1]);
    return 2;
  }
  int fd = open("/dev/null", O_WRONLY);
  if (fd < 0) {
    perror("/dev/null");
    return 1;
  }
  char byte = 'x';
  for (long i = 0; i < n / 10; i++) {
    if (is_write)
      (void)!write(fd, &byte, 1);
    else
      syscall(SYS_getppid);
  }
  double start = now_ns();
  for (long i = 0; i < n; i++) {
    if (is_write)
      (void)!write(fd, &byte, 1);
    else
      syscall(SYS_getppid);
  }
  double per_call = (now_ns() - start) / (double)n;
  printf("%.1f\n", per_call);
  return 0;
}
