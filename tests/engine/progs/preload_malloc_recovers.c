/* SPDX-License-Identifier: Apache-2.0 */
/* An allocation that fails once and then succeeds, and the errno around it.
 * Under a small RLIMIT_AS, malloc of 64 MiB fails with ENOMEM; a second
 * thread raises the limit 30 ms later, so an allocator that retries (the
 * preload engine under an mmap=ENOMEM rule) gets the memory on a later
 * attempt (the thread starts its 30 ms once the limit is set). glibc's malloc leaves errno alone
 * when it succeeds: the program's errno (EDOM here) must still be there after the allocation.
 * Prints "errno kept", "errno changed to N" or "no memory", and exits 0 only
 * for the first. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define HUGE_BYTES ((size_t)64 << 20)

static struct rlimit original;
static int limit_set[2];

static void* raise_limit(void* arg) {
  (void)arg;
  char c;
  if (read(limit_set[0], &c, 1) != 1)
    return NULL;
  struct timespec delay = {0, 30 * 1000 * 1000};
  nanosleep(&delay, NULL);
  setrlimit(RLIMIT_AS, &original);
  return NULL;
}

/* The bytes of address space the process maps now (/proc/self/statm's first field). */
static size_t mapped_bytes(void) {
  unsigned long pages = 0;
  FILE* statm = fopen("/proc/self/statm", "r");
  if (statm == NULL || fscanf(statm, "%lu", &pages) != 1)
    pages = 0;
  if (statm != NULL)
    fclose(statm);
  return (size_t)pages * 4096;
}

int main(void) {
  if (getrlimit(RLIMIT_AS, &original) != 0) {
    perror("getrlimit");
    return 2;
  }
  pthread_t raiser;
  if (pipe(limit_set) != 0 || pthread_create(&raiser, NULL, raise_limit, NULL) != 0) {
    fprintf(stderr, "pthread_create failed\n");
    return 2;
  }
  /* Room for what is mapped now (the raiser's stack included), not for 64 MiB more. */
  struct rlimit small = {mapped_bytes() + ((rlim_t)16 << 20), original.rlim_max};
  if (setrlimit(RLIMIT_AS, &small) != 0) {
    perror("setrlimit");
    return 2;
  }
  if (write(limit_set[1], "x", 1) != 1)
    return 2;
  errno = EDOM;
  char* p = malloc(HUGE_BYTES);
  int after = errno;
  pthread_join(raiser, NULL);
  if (p == NULL) {
    printf("no memory\n");
    return 1;
  }
  memset(p, 1, HUGE_BYTES);
  free(p);
  if (after != EDOM) {
    printf("errno changed to %d\n", after);
    return 1;
  }
  printf("errno kept\n");
  return 0;
}
