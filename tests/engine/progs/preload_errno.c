// SPDX-License-Identifier: Apache-2.0
/* Successful calls through the preload library leave errno alone: sets errno
 * to a marker, makes successful calls of every kind of wrapper (syscall,
 * variadic, fortified-capable, allocator, syscall(2) itself), and checks the
 * marker after each. Prints "errno preserved" and exits 0, or names the call
 * that changed it and exits 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define MARKER 4242

static int failures;

static void check(const char* what) {
  if (errno != MARKER) {
    fprintf(stderr, "errno changed by a successful %s: %d\n", what, errno);
    failures++;
  }
  errno = MARKER;
}

int main(void) {
  char buf[16];
  errno = MARKER;
  int fd = open("/dev/null", O_RDWR);
  check("open");
  if (write(fd, "x", 1) != 1 || read(fd, buf, sizeof buf) != 0)
    failures++;
  check("write/read");
  struct iovec iov = {buf, 1};
  if (writev(fd, &iov, 1) != 1 || pwrite(fd, "x", 1, 0) != 1)
    failures++;
  check("writev/pwrite");
  close(fd);
  check("close");
  int dir = openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY);
  check("openat");
  close(dir);
  void* map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  check("mmap");
  if (map == MAP_FAILED || mprotect(map, 4096, PROT_READ) != 0 || munmap(map, 4096) != 0)
    failures++;
  check("mprotect/munmap");
  void* p = malloc(100);
  p = realloc(p, 1000);
  check("malloc/realloc");
  free(p);
  void* q = calloc(10, 10);
  check("calloc");
  free(q);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  check("socket");
  close(s);
  if (syscall(SYS_getpid) != getpid())
    failures++;
  check("syscall");
  if (failures != 0)
    return 1;
  printf("errno preserved\n");
  return 0;
}
