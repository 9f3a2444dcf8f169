// SPDX-License-Identifier: Apache-2.0
/* Each wrapper fails the way its libc function does. Usage:
 *   preload_conventions open     open of a missing file: -1 and ENOENT
 *   preload_conventions mmap     mmap (the engine injects ENOMEM): MAP_FAILED and ENOMEM
 *   preload_conventions malloc   under a small RLIMIT_AS: malloc, calloc, realloc and
 *                                aligned_alloc return NULL with ENOMEM; posix_memalign
 *                                returns ENOMEM and leaves errno alone
 * Exits 0 when every convention held, 1 (with a line naming it) otherwise. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#define HUGE_BYTES ((size_t)1 << 34) /* 16 GiB: beyond the limit below */

static int fail(const char* what) {
  fprintf(stderr, "%s (errno %s)\n", what, strerrorname_np(errno));
  return 1;
}

static int check_malloc(void) {
  struct rlimit limit = {(rlim_t)1 << 30, RLIM_INFINITY}; /* 1 GiB of address space */
  if (setrlimit(RLIMIT_AS, &limit) != 0)
    return fail("setrlimit");
  errno = 0;
  if (malloc(HUGE_BYTES) != NULL || errno != ENOMEM)
    return fail("malloc did not return NULL with ENOMEM");
  errno = 0;
  if (calloc(HUGE_BYTES / 16, 16) != NULL || errno != ENOMEM)
    return fail("calloc did not return NULL with ENOMEM");
  void* small = malloc(16);
  errno = 0;
  if (realloc(small, HUGE_BYTES) != NULL || errno != ENOMEM)
    return fail("realloc did not return NULL with ENOMEM");
  free(small); /* still ours after a failed realloc */
  errno = 0;
  if (aligned_alloc(64, HUGE_BYTES) != NULL || errno != ENOMEM)
    return fail("aligned_alloc did not return NULL with ENOMEM");
  void* out = NULL;
  errno = 777;
  if (posix_memalign(&out, 64, HUGE_BYTES) != ENOMEM || errno != 777)
    return fail("posix_memalign did not return ENOMEM with errno untouched");
  return 0;
}

int main(int argc, char** argv) {
  const char* what = argc > 1 ? argv[1] : "";
  if (strcmp(what, "open") == 0) {
    errno = 0;
    if (open("/nonexistent/ftsc-preload", O_RDONLY) != -1 || errno != ENOENT)
      return fail("open did not return -1 with ENOENT");
  } else if (strcmp(what, "mmap") == 0) {
    errno = 0;
    void* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED || errno != ENOMEM)
      return fail("mmap did not return MAP_FAILED with ENOMEM");
  } else if (strcmp(what, "malloc") == 0) {
    if (check_malloc() != 0)
      return 1;
  } else {
    fprintf(stderr, "usage: preload_conventions open|mmap|malloc\n");
    return 2;
  }
  printf("%s: convention held\n", what);
  return 0;
}
