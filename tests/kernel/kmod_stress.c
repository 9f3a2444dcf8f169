// SPDX-License-Identifier: Apache-2.0
/* kmod_stress: threads that keep hooked syscalls busy while a test loads,
 * replaces and unloads policies under them (vm/kmod_unload_stress.sh, whose
 * policies retry openat ENOENT after short backoffs, openat ENOTDIR after
 * long ones, and read EIO).
 *
 *   kmod_stress SECONDS MISSING_PATH NOTDIR_PATH
 *
 * For SECONDS, or until SIGUSR1, seven threads:
 *  - two "quick" openers open MISSING_PATH (openat fails with ENOENT; hooked,
 *    it is retried after a few milliseconds, so they go in and out of short
 *    backoffs);
 *  - two "sleepy" openers open NOTDIR_PATH, a path below a regular file
 *    (openat fails with ENOTDIR; hooked, it is retried after seconds, so
 *    they sleep in a backoff until a detach wakes them, often under a policy
 *    that was replaced since);
 *  - two readers read from pipes that get one byte each time the program
 *    receives SIGUSR2 (so they are blocked inside read itself, holding the
 *    module when an unload comes, until the test lets them go);
 *  - one mapper maps and unmaps 1 MiB (the hooked path that succeeds).
 * A call that returns at once (not hooked, or not retried) is followed by a
 * millisecond's pause, so that the threads leave the emulated CPUs to the
 * test instead of spinning on them. Every result is checked: the openers must
 * fail with their errno, read must return its byte, mmap must succeed.
 * Whatever the module does around them, the program must see exactly what
 * the syscalls would return without it. Prints the counts; exits 0 when
 * every result was right, 1 otherwise. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define QUICK 2
#define SLEEPY 2
#define READERS 2

static atomic_int stop;
static atomic_long opens, long_opens, reads, maps, wrong;
static const char* missing;
static const char* notdir;
static int pipes[READERS][2];

static void report_wrong(const char* what, long got, int err) {
  atomic_fetch_add(&wrong, 1);
  fprintf(stderr, "kmod_stress: %s returned %ld (%s)\n", what, got, strerror(err));
}

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A millisecond's pause after a call that took less than one. */
static void pace(long long start) {
  if (now_us() - start < 1000) {
    const struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
}

static void open_fails(const char* path, int want, atomic_long* count) {
  while (!atomic_load(&stop)) {
    const long long start = now_us();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 || errno != want) {
      report_wrong(want == ENOENT ? "open of the missing file" : "open below a file", fd, errno);
      if (fd >= 0)
        close(fd);
    }
    atomic_fetch_add(count, 1);
    pace(start);
  }
}

static void* quick_opener(void* arg) {
  (void)arg;
  open_fails(missing, ENOENT, &opens);
  return NULL;
}

static void* sleepy_opener(void* arg) {
  (void)arg;
  open_fails(notdir, ENOTDIR, &long_opens);
  return NULL;
}

static void* reader(void* arg) {
  int fd = pipes[(long)arg][0];
  while (!atomic_load(&stop)) {
    char c;
    ssize_t n = read(fd, &c, 1);
    if (n != 1 || c != 'x')
      report_wrong("read of the pipe", (long)n, errno);
    atomic_fetch_add(&reads, 1);
  }
  return NULL;
}

static void* mapper(void* arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    const long long start = now_us();
    void* p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      report_wrong("mmap of 1 MiB", -1, errno);
      continue;
    }
    if (munmap(p, 1 << 20) != 0)
      report_wrong("munmap", -1, errno);
    atomic_fetch_add(&maps, 1);
    pace(start);
  }
  return NULL;
}

static void feed_all(void) {
  for (int i = 0; i < READERS; i++)
    if (write(pipes[i][1], "x", 1) != 1)
      report_wrong("write to a pipe", -1, errno);
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: kmod_stress SECONDS MISSING_PATH NOTDIR_PATH\n");
    return 2;
  }
  const int seconds = atoi(argv[1]);
  missing = argv[2];
  notdir = argv[3];
  /* The signals are taken with sigtimedwait in the main thread only. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);
  pthread_t threads[QUICK + SLEEPY + READERS + 1];
  int n = 0;
  for (long i = 0; i < READERS; i++)
    if (pipe2(pipes[i], O_CLOEXEC) != 0) {
      perror("pipe2");
      return 2;
    }
  for (int i = 0; i < QUICK; i++)
    pthread_create(&threads[n++], NULL, quick_opener, NULL);
  for (int i = 0; i < SLEEPY; i++)
    pthread_create(&threads[n++], NULL, sleepy_opener, NULL);
  for (long i = 0; i < READERS; i++)
    pthread_create(&threads[n++], NULL, reader, (void*)i);
  pthread_create(&threads[n++], NULL, mapper, NULL);

  struct timespec now, end;
  clock_gettime(CLOCK_MONOTONIC, &end);
  end.tv_sec += seconds;
  for (;;) {
    const struct timespec tick = {1, 0};
    const int sig = sigtimedwait(&signals, NULL, &tick);
    if (sig == SIGUSR1)
      break;
    if (sig == SIGUSR2)
      feed_all();
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec >= end.tv_sec)
      break;
  }
  atomic_store(&stop, 1);
  feed_all(); /* the readers' last read */
  for (int i = 0; i < n; i++)
    pthread_join(threads[i], NULL);
  printf(
      "kmod_stress: %d threads; %ld opens (ENOENT), %ld opens (ENOTDIR), %ld reads, %ld maps, "
      "%ld wrong results\n",
      n, atomic_load(&opens), atomic_load(&long_opens), atomic_load(&reads), atomic_load(&maps),
      atomic_load(&wrong));
  return atomic_load(&wrong) == 0 ? 0 : 1;
}
