// SPDX-License-Identifier: Apache-2.0
/* kmod_mmap: the research prototype's overhead benchmark. Maps 128 MiB of
 * anonymous memory and unmaps it again, ITERATIONS times, and prints the
 * mean cost of the mmap call in rdtsc cycles. bench/kmod_mmap.sh runs it
 * natively and under the kernel engine (mmap hooked) and prints the ratio.
 *
 *   kmod_mmap ITERATIONS [--enomem]
 *
 * With --enomem it then makes one mmap that fails with ENOMEM (under an
 * RLIMIT_AS of 64 MiB), so that the script can check in the module's
 * statistics that this process's calls really went through the hook.
 * Output: "mean_cycles N" (and "enomem ok"). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <x86intrin.h>

#define BLOCK (128UL << 20)

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: kmod_mmap ITERATIONS [--enomem]\n");
    return 2;
  }
  const long iterations = strtol(argv[1], NULL, 10);
  if (iterations <= 0) {
    fprintf(stderr, "kmod_mmap: ITERATIONS must be a positive number\n");
    return 2;
  }
  uint64_t total = 0;
  for (long i = 0; i < iterations; i++) {
    const uint64_t start = __rdtsc();
    void* p = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    total += __rdtsc() - start;
    if (p == MAP_FAILED) {
      fprintf(stderr, "kmod_mmap: mmap of 128 MiB failed: %s\n", strerror(errno));
      return 1;
    }
    if (munmap(p, BLOCK) != 0) {
      fprintf(stderr, "kmod_mmap: munmap failed: %s\n", strerror(errno));
      return 1;
    }
  }
  printf("mean_cycles %llu\n", (unsigned long long)(total / (uint64_t)iterations));
  if (argc > 2 && strcmp(argv[2], "--enomem") == 0) {
    const struct rlimit limit = {64UL << 20, 64UL << 20};
    if (setrlimit(RLIMIT_AS, &limit) != 0) {
      perror("kmod_mmap: setrlimit");
      return 1;
    }
    void* p = mmap(NULL, BLOCK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED || errno != ENOMEM) {
      fprintf(stderr, "kmod_mmap: expected ENOMEM from mmap under RLIMIT_AS\n");
      return 1;
    }
    printf("enomem ok\n");
  }
  return 0;
}
