// SPDX-License-Identifier: Apache-2.0
/* static_binary: the late-file fault in a statically linked program that
 * makes its call with a raw `syscall` instruction.
 *
 * Linked with -static, so no dynamic loader runs and no LD_PRELOAD library can
 * be loaded: only an engine below libc (ptrace, kmod) can retry here. The call
 * is syscall(SYS_openat, ...), not glibc's open(), the way Go and other
 * runtimes without libc make their calls. The fault is late_file's: a helper
 * creates the file SC_LATE_MS after the announced call (ENOENT until then). */
#include <sys/auxv.h>
#include <sys/syscall.h>

#include "scenario.h"

int main(void) {
  sc_name = "static_binary";
  /* A dynamically linked program has an interpreter, whose base the kernel passes. */
  if (getauxval(AT_BASE) != 0)
    sc_setup_error("this build of the program is not statically linked (it has a dynamic loader)");
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
  const long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
  const int err = errno;
  const int64_t ms = sc_ms_since(start);

  char content[4200] = "";
  const int read_err = fd >= 0 ? sc_read_fd((int)fd, content, sizeof content) : 0;
  if (fd >= 0)
    close((int)fd);
  sc_kill_and_reap(helper);
  sc_remove_late_file(path);
  rmdir(dir);

  if (fd < 0)
    sc_fail(
        "raw openat of %s failed with %s after %lld ms (another process creates it %d ms "
        "after the call)",
        path, sc_errno_name(err), (long long)ms, SC_LATE_MS);
  if (read_err != 0 || strcmp(content, path) != 0)
    sc_fail(
        "raw openat of %s succeeded after %lld ms but the file does not hold what the helper "
        "wrote",
        path, (long long)ms);
  return SC_OK;
}
