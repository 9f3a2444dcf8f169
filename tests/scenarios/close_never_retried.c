// SPDX-License-Identifier: Apache-2.0
/* close_never_retried (guard): a close(2) that really fails is not retried,
 * even under a policy that says to retry close on EIO.
 *
 * Linux releases the descriptor *before* the step of close that can fail
 * (fs/open.c: the fd is taken out of the table, then the file's ->flush runs),
 * so a retry could only fail with EBADF or, worse, close a descriptor another
 * thread has just been given. docs/design.md therefore never retries close.
 *
 * To test that on a real failure, not on EBADF (which the checker refuses to
 * retry anyway), the scenario needs a file whose ->flush fails with an errno
 * the policy can name. Local file systems do not fail flush; FUSE does
 * whatever its server answers. So the scenario mounts a tiny FUSE file system
 * (one file) in a private mount namespace, served by a helper child speaking
 * the raw /dev/fuse protocol (linux/fuse.h), that answers FUSE_FLUSH with EIO.
 * Then:
 *   - close(fd) must return EIO (a retry would turn it into EBADF: the last
 *     error is what the program sees) and the server must have seen exactly
 *     one FLUSH;
 *   - close(fd) again returns EBADF: the descriptor was released although
 *     close failed, which is why a retry is wrong;
 *   - close(-1) returns EBADF.
 * The runner checks the statistics too (no retries of close). Where FUSE or
 * mounting is not available the scenario skips with the reason. */
#include <linux/fuse.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "scenario.h"

#define FILE_NODE 2
#define FILE_NAME "file"

/* Shared with the server child: how many FLUSH requests it answered. */
static atomic_int* flushes;

static void fill_attr(uint64_t node, struct fuse_attr* attr) {
  memset(attr, 0, sizeof *attr);
  attr->ino = node;
  attr->mode = node == FUSE_ROOT_ID ? (S_IFDIR | 0755) : (S_IFREG | 0644);
  attr->nlink = node == FUSE_ROOT_ID ? 2 : 1;
  attr->blksize = 4096;
}

static void reply(int dev, uint64_t unique, int error, const void* payload, size_t size) {
  struct fuse_out_header out = {(uint32_t)(sizeof out + size), error, unique};
  struct iovec iov[2] = {{&out, sizeof out}, {(void*)payload, size}};
  /* ENOENT: the request was interrupted meanwhile; nothing to do. */
  ssize_t ignored = writev(dev, iov, size ? 2 : 1);
  (void)ignored;
}

/* A FUSE server for one file, "file", whose flush fails with EIO. */
static int serve_fuse(void* arg) {
  const int dev = *(const int*)arg;
  static char buf[FUSE_MIN_READ_BUFFER + (128 << 10)];
  for (;;) {
    const ssize_t n = read(dev, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == ENOENT))
      continue;
    if (n < (ssize_t)sizeof(struct fuse_in_header))
      return 0; /* ENODEV: unmounted */
    const struct fuse_in_header* in = (const struct fuse_in_header*)buf;
    const void* body = buf + sizeof *in;
    switch (in->opcode) {
      case FUSE_INIT: {
        const struct fuse_init_in* init = (const struct fuse_init_in*)body;
        struct fuse_init_out out;
        memset(&out, 0, sizeof out);
        out.major = FUSE_KERNEL_VERSION;
        out.minor =
            init->minor < FUSE_KERNEL_MINOR_VERSION ? init->minor : FUSE_KERNEL_MINOR_VERSION;
        out.max_readahead = init->max_readahead;
        out.max_write = 4096;
        out.time_gran = 1;
        reply(dev, in->unique, 0, &out, sizeof out);
        break;
      }
      case FUSE_LOOKUP: {
        if (in->nodeid != FUSE_ROOT_ID || strcmp((const char*)body, FILE_NAME) != 0) {
          reply(dev, in->unique, -ENOENT, NULL, 0);
          break;
        }
        struct fuse_entry_out out;
        memset(&out, 0, sizeof out);
        out.nodeid = FILE_NODE;
        out.generation = 1;
        fill_attr(FILE_NODE, &out.attr);
        reply(dev, in->unique, 0, &out, sizeof out);
        break;
      }
      case FUSE_GETATTR: {
        struct fuse_attr_out out;
        memset(&out, 0, sizeof out);
        fill_attr(in->nodeid, &out.attr);
        reply(dev, in->unique, 0, &out, sizeof out);
        break;
      }
      case FUSE_OPEN: {
        struct fuse_open_out out;
        memset(&out, 0, sizeof out);
        out.fh = 1;
        reply(dev, in->unique, 0, &out, sizeof out);
        break;
      }
      case FUSE_FLUSH:
        atomic_fetch_add(flushes, 1);
        reply(dev, in->unique, -EIO, NULL, 0);
        break;
      case FUSE_RELEASE:
      case FUSE_DESTROY:
        reply(dev, in->unique, 0, NULL, 0);
        break;
      case FUSE_FORGET:
      case FUSE_BATCH_FORGET:
      case FUSE_INTERRUPT:
        break; /* no reply */
      default:
        reply(dev, in->unique, -ENOSYS, NULL, 0);
        break;
    }
  }
}

static char mount_dir[4096];

static void unmount_and_remove(void) {
  umount2(mount_dir, MNT_DETACH);
  rmdir(mount_dir);
}

int main(void) {
  sc_name = "close_never_retried";
  char why[256];
  if (sc_enter_private_mounts(why, sizeof why) != 0)
    sc_skip("%s", why);
  const int dev = open("/dev/fuse", O_RDWR | O_CLOEXEC);
  if (dev < 0)
    sc_skip("cannot open /dev/fuse: %s (a FUSE file system makes the failing close)",
            strerror(errno));
  sc_make_temp_dir(mount_dir, sizeof mount_dir);
  char options[128];
  snprintf(options, sizeof options, "fd=%d,rootmode=40000,user_id=%u,group_id=%u", dev,
           (unsigned)getuid(), (unsigned)getgid());
  if (mount("ftsc-scenario", mount_dir, "fuse", MS_NOSUID | MS_NODEV, options) != 0) {
    const int err = errno;
    rmdir(mount_dir);
    sc_skip("cannot mount a FUSE file system on %s: %s", mount_dir, strerror(err));
  }
  atexit(unmount_and_remove);

  flushes = mmap(NULL, sizeof *flushes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (flushes == MAP_FAILED)
    sc_setup_error("mmap: %s", strerror(errno));
  atomic_init(flushes, 0);
  int server_dev = dev;
  const pid_t server = sc_spawn_helper(serve_fuse, &server_dev);
  close(dev);

  char path[4200];
  snprintf(path, sizeof path, "%s/%s", mount_dir, FILE_NAME);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    sc_setup_error("cannot open %s on the FUSE file system: %s", path, strerror(errno));

  const int64_t start = sc_now_ns();
  const int rc = close(fd);
  const int err = errno;
  const int64_t ms = sc_ms_since(start);
  const int seen = atomic_load(flushes);
  const int again = close(fd);
  const int again_err = errno;
  const int invalid = close(-1);
  const int invalid_err = errno;
  sc_kill_and_reap(server);

  if (rc == 0 || err != EIO)
    sc_fail(
        "close of a file whose flush fails with EIO returned %d (%s) after %lld ms, expected -1 "
        "with EIO%s",
        rc, rc == 0 ? "no error" : sc_errno_name(err), (long long)ms,
        rc != 0 && err == EBADF ? ": it was retried after the descriptor was released" : "");
  if (seen != 1)
    sc_fail("the file system saw %d flush requests for one close, expected 1", seen);
  if (again != -1 || again_err != EBADF)
    sc_fail(
        "a second close of the same descriptor returned %d (%s), expected EBADF: the "
        "descriptor should be released by the failed close",
        again, again == 0 ? "no error" : sc_errno_name(again_err));
  if (invalid != -1 || invalid_err != EBADF)
    sc_fail("close(-1) returned %d (%s), expected EBADF", invalid,
            invalid == 0 ? "no error" : sc_errno_name(invalid_err));
  return SC_OK;
}
