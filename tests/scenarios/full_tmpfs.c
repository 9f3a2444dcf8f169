// SPDX-License-Identifier: Apache-2.0
/* full_tmpfs: write(2) to a small tmpfs that stays full until another
 * process frees space 150 ms later.
 *
 * The fault: a 1 MiB tmpfs, filled to the last page, refuses a page with
 * ENOSPC (mm/shmem.c checks the size= limit on every page it allocates). The
 * scenario opens its data file first, fills the rest with pwrite (not write:
 * filling must not touch the syscall the policy retries), then writes one page
 * to the data file. A helper child truncates the filler SC_LATE_MS after the
 * scenario announced that write; retried for longer than that, the write
 * succeeds.
 *
 * Nothing leaks: the scenario enters a mount namespace of its own
 * (unshare(CLONE_NEWNS), and / made private so that no mount propagates back),
 * and the tmpfs dies with it and the helper. Mounting needs CAP_SYS_ADMIN, or
 * an unprivileged user namespace (sc_enter_private_mounts tries both); where
 * neither is permitted the scenario skips with the reason. */
#include <sys/statvfs.h>

#include "scenario.h"

#define TMPFS_BYTES (1UL << 20)
#define PAGE 4096

struct freer {
  const struct sc_gate* gate;
  const char* filler;
};

static int free_space_late(void* arg) {
  const struct freer* f = (const struct freer*)arg;
  if (sc_gate_wait(f->gate, 1) != 0)
    return SC_SETUP;
  sc_sleep_ms(SC_LATE_MS);
  return truncate(f->filler, 0) == 0 ? 0 : SC_SETUP;
}

static char mount_dir[4096];

static void unmount_and_remove(void) {
  umount2(mount_dir, MNT_DETACH);
  rmdir(mount_dir);
}

int main(void) {
  sc_name = "full_tmpfs";
  char why[256];
  if (sc_enter_private_mounts(why, sizeof why) != 0)
    sc_skip("%s", why);
  sc_make_temp_dir(mount_dir, sizeof mount_dir);
  char options[64];
  snprintf(options, sizeof options, "size=%lu,mode=0700", TMPFS_BYTES);
  if (mount("ftsc-scenario", mount_dir, "tmpfs", MS_NOSUID | MS_NODEV, options) != 0) {
    const int err = errno;
    rmdir(mount_dir);
    sc_skip("cannot mount a tmpfs on %s: %s", mount_dir, strerror(err));
  }
  atexit(unmount_and_remove);

  char data_path[4200];
  char filler_path[4200];
  snprintf(data_path, sizeof data_path, "%s/data", mount_dir);
  snprintf(filler_path, sizeof filler_path, "%s/filler", mount_dir);
  const int data = open(data_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  const int filler = open(filler_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (data < 0 || filler < 0)
    sc_setup_error("cannot create files on the tmpfs %s: %s", mount_dir, strerror(errno));

  static char page[PAGE];
  memset(page, 'x', sizeof page);
  off_t filled = 0;
  for (;;) {
    const ssize_t n = pwrite(filler, page, sizeof page, filled);
    if (n > 0) {
      filled += n;
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == ENOSPC)
      break;
    sc_setup_error("filling the tmpfs: pwrite returned %zd: %s", n, strerror(errno));
  }
  close(filler);
  struct statvfs vfs;
  if (statvfs(mount_dir, &vfs) != 0 || vfs.f_bavail != 0)
    sc_setup_error("the tmpfs on %s is not full after %lld bytes", mount_dir, (long long)filled);

  struct sc_gate gate = sc_gate_open();
  struct freer freer = {&gate, filler_path};
  const pid_t helper = sc_spawn_helper(free_space_late, &freer);
  close(gate.read_fd);

  sc_gate_pass(&gate);
  const int64_t start = sc_now_ns();
  const ssize_t n = write(data, page, sizeof page);
  const int err = errno;
  const int64_t ms = sc_ms_since(start);
  close(data);
  sc_kill_and_reap(helper);

  if (n < 0)
    sc_fail(
        "write of %d bytes to the full tmpfs failed with %s after %lld ms (another process "
        "frees %lld bytes %d ms after the call)",
        PAGE, sc_errno_name(err), (long long)ms, (long long)filled, SC_LATE_MS);
  if (n != PAGE)
    sc_fail("write of %d bytes to the tmpfs wrote only %zd after %lld ms", PAGE, n, (long long)ms);
  return SC_OK;
}
