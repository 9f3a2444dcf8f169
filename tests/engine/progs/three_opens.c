// SPDX-License-Identifier: Apache-2.0
/* Opens a missing file three ways: through libc's open() (the preload
 * library's wrapper), through fopen() (libc's internal openat, out of the
 * library's reach) and with a raw `syscall` instruction. Prints each errno,
 * then the mapping at the syscall page's address (0x6ff00000), if any. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  const char* path = argc > 1 ? argv[1] : "/nonexistent/ftsc-three-opens";
  int fd = open(path, O_RDONLY);
  printf("open: %s\n", fd < 0 ? strerror(errno) : "ok");
  FILE* f = fopen(path, "r");
  printf("fopen: %s\n", f == NULL ? strerror(errno) : "ok");
  long r;
  __asm__ volatile("syscall"
                   : "=a"(r)
                   : "0"((long)SYS_openat), "D"((long)AT_FDCWD), "S"(path), "d"(0L)
                   : "rcx", "r11", "memory");
  printf("raw: %s\n", r < 0 ? strerror((int)-r) : "ok");
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[512];
  while (maps != NULL && fgets(line, sizeof line, maps) != NULL)
    if (strncmp(line, "6ff00000-", 9) == 0)
      printf("page: %.22s\n", line);
  return 0;
}
