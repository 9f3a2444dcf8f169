// SPDX-License-Identifier: Apache-2.0
/* kmod_probe: a process with chosen attributes makes one openat(2) of a file
 * that does not exist, so that a test can see whether the kernel engine's
 * target selected it (the module's statistics count the call, and a retrying
 * policy makes it wait).
 *
 *   kmod_probe [--comm NAME] [--cgroup DIR] [--uid UID] [--wait FIFO] PATH
 *
 * In this order: --comm renames the process (prctl(PR_SET_NAME) on the main
 * thread, which is what /proc/PID/comm shows), --cgroup moves it into the
 * cgroup v2 directory DIR, --uid drops to that user id (real, effective and
 * saved), --wait reads one line from FIFO first (the test loads a policy that
 * names this pid meanwhile). Then it prints "openat: ERRNO after N ms" and
 * exits 0 when openat failed with ENOENT, 1 otherwise. With PATH "-" it reads
 * one byte from standard input instead (a read that blocks until the test
 * lets it go), prints "read: N after M ms" and exits 0 when read returned 0
 * or 1. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char* what) {
  fprintf(stderr, "kmod_probe: %s: %s\n", what, strerror(errno));
  exit(2);
}

int main(int argc, char** argv) {
  const char* comm = NULL;
  const char* cgroup = NULL;
  const char* fifo = NULL;
  long uid = -1;
  int i;
  for (i = 1; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
    if (strcmp(argv[i], "--comm") == 0)
      comm = argv[i + 1];
    else if (strcmp(argv[i], "--cgroup") == 0)
      cgroup = argv[i + 1];
    else if (strcmp(argv[i], "--uid") == 0)
      uid = strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--wait") == 0)
      fifo = argv[i + 1];
    else {
      fprintf(stderr, "kmod_probe: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (i + 1 != argc) {
    fprintf(stderr,
            "usage: kmod_probe [--comm NAME] [--cgroup DIR] [--uid UID] [--wait FIFO] PATH\n");
    return 2;
  }
  if (comm && prctl(PR_SET_NAME, comm, 0, 0, 0) != 0)
    die("prctl(PR_SET_NAME)");
  if (cgroup) {
    char procs[4096];
    snprintf(procs, sizeof procs, "%s/cgroup.procs", cgroup);
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1)
      die(procs);
    close(fd);
  }
  if (uid >= 0 && (setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) != 0 ||
                   setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0))
    die("setresuid");
  if (fifo) {
    char line[16];
    FILE* f = fopen(fifo, "r");
    if (!f || !fgets(line, sizeof line, f))
      die(fifo);
    fclose(f);
  }
  long long start = now_ms();
  if (strcmp(argv[i], "-") == 0) {
    char c;
    long n = syscall(SYS_read, 0, &c, 1);
    int read_err = n < 0 ? errno : 0;
    if (n < 0) {
      printf("read: %s after %lld ms\n", strerrorname_np(read_err), now_ms() - start);
      return 1;
    }
    printf("read: %ld after %lld ms\n", n, now_ms() - start);
    return 0;
  }
  long fd = syscall(SYS_openat, AT_FDCWD, argv[i], O_RDONLY | O_CLOEXEC);
  int err = fd < 0 ? errno : 0;
  long long took = now_ms() - start;
  if (fd >= 0) {
    close((int)fd);
    printf("openat: succeeded after %lld ms\n", took);
    return 1;
  }
  printf("openat: %s after %lld ms\n", strerrorname_np(err), took);
  return err == ENOENT ? 0 : 1;
}
