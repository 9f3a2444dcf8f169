// SPDX-License-Identifier: Apache-2.0
/* late_file_stdio: fopen(3) of a file that another process creates 150 ms
 * later, read with stdio.
 *
 * The fault: the file does not exist yet (ENOENT). A helper child creates it
 * (complete, by rename) SC_LATE_MS after the scenario announced its call, so
 * natively the open always fails; retried for longer than that, it succeeds.
 * fopen makes its openat inside libc, where no interposed function sees it:
 * the preload library reaches it only through libc's patched syscall site,
 * the ptrace supervisor like any other call. */
#include "scenario.h"

int main(void) {
  sc_name = "late_file_stdio";
  char dir[4096];
  char path[4200];
  sc_make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/late", dir);

  struct sc_gate gate = sc_gate_open();
  struct sc_late_files late = {&gate, 1, 1, {path}};
  const pid_t helper = sc_spawn_helper(sc_late_files_helper, &late);
  close(gate.read_fd);

  sc_gate_pass(&gate);
  const int64_t start = sc_now_ns();
  FILE* f = fopen(path, "re");
  const int err = errno;
  const int64_t ms = sc_ms_since(start);

  char content[4200] = "";
  int read_err = 0;
  if (f != NULL) {
    if (fgets(content, sizeof content, f) == NULL)
      read_err = ferror(f) ? errno : 0;
    fclose(f);
  }
  sc_kill_and_reap(helper);
  sc_remove_late_file(path);
  rmdir(dir);

  if (f == NULL)
    sc_fail(
        "fopen of %s failed with %s after %lld ms (another process creates it %d ms after the "
        "call)",
        path, sc_errno_name(err), (long long)ms, SC_LATE_MS);
  if (read_err != 0 || strcmp(content, path) != 0)
    sc_fail("fopen of %s succeeded after %lld ms but the file does not hold what the helper wrote",
            path, (long long)ms);
  return SC_OK;
}
