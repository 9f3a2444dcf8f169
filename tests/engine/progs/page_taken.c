// SPDX-License-Identifier: Apache-2.0
/* A program whose own code occupies the syscall page's address (linked with
 * its text segment at 0x6ff00000, see tests/CMakeLists.txt): the preload
 * library cannot map its page there. Opens a missing file with open(). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

int main(void) {
  int fd = open("/nonexistent/ftsc-page-taken", O_RDONLY);
  printf("open: %s\n", fd < 0 ? strerror(errno) : "ok");
  return 0;
}
