// SPDX-License-Identifier: Apache-2.0
/* exhausted (guard): a call that keeps failing gets the original errno back
 * once the schedule is used up, after the scheduled delays.
 *
 * open(2) of a file that never appears fails with ENOENT on every attempt.
 * Usage: scenario_exhausted [MIN_MS]. The open must fail with ENOENT (never
 * another errno, never success), and must take at least MIN_MS milliseconds:
 * the runner passes 0 natively and the sum of the scenario policy's delays
 * (3 x 50 ms) under an engine. Only a lower bound: how much longer a busy
 * machine takes says nothing about the engine. */
#include "scenario.h"

int main(int argc, char** argv) {
  sc_name = "exhausted";
  const long min_ms = argc > 1 ? atol(argv[1]) : 0;
  char dir[4096];
  char path[4200];
  sc_make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/never-appears", dir);

  const int64_t start = sc_now_ns();
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  const int err = errno;
  const int64_t ms = sc_ms_since(start);
  if (fd >= 0)
    close(fd);
  rmdir(dir);

  if (fd >= 0)
    sc_fail("open of %s succeeded, but nothing ever creates it", path);
  if (err != ENOENT)
    sc_fail("open of %s failed with %s, expected the original ENOENT", path, sc_errno_name(err));
  if (ms < min_ms)
    sc_fail("open of %s returned ENOENT after %lld ms, before the schedule's %ld ms of delays",
            path, (long long)ms, min_ms);
  return SC_OK;
}
