// SPDX-License-Identifier: Apache-2.0
/* inject_recovers (injection): an open(2) of a file that exists succeeds,
 * natively and under an engine that injects ENOENT into openat attempts 1
 * and 2 of the process and retries openat ENOENT (the runner passes
 * --inject openat:error=ENOENT:when=1..2 and checks the statistics: two
 * attempts injected, two retries, one call recovered on its third attempt).
 *
 * Attempts are counted per process from its start, so in a dynamically
 * linked program the dynamic loader's first openat (ld.so.cache) may be the
 * one that takes the injected failures; either way the statistics are the
 * same and every open of the program must succeed. The scenario opens its
 * file several times, each of which must succeed and read what it wrote. */
#include "scenario.h"

#define OPENS 3

int main(void) {
  sc_name = "inject_recovers";
  char dir[4096];
  char path[4200];
  sc_make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/exists", dir);
  const int created = sc_create_file_atomically(path, path);
  if (created != 0) {
    rmdir(dir);
    sc_setup_error("cannot create %s: %s", path, strerror(created));
  }

  int failed_errno = 0;
  int bad_content = 0;
  int which = 0;
  for (which = 1; which <= OPENS && !failed_errno && !bad_content; which++) {
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      failed_errno = errno;
      break;
    }
    char content[4200];
    bad_content = sc_read_fd(fd, content, sizeof content) != 0 || strcmp(content, path) != 0;
    close(fd);
  }
  unlink(path);
  rmdir(dir);

  if (failed_errno)
    sc_fail("open %d of %d of the existing file %s failed with %s", which, OPENS, path,
            sc_errno_name(failed_errno));
  if (bad_content)
    sc_fail("open of %s succeeded but the file does not hold what was written", path);
  return SC_OK;
}
