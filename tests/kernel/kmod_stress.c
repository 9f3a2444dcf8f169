/* kmod_stress: threads that keep hooked syscalls busy while a test loads,
 * replaces and unloads policies under them (vm/kmod_unload_stress.sh).
 *
 *   kmod_stress SECONDS MISSING_PATH
 *
 * For SECONDS, or until SIGUSR1: three threads open MISSING_PATH (openat
 * fails with ENOENT; under the test's policies it is retried, so these
 * threads are often asleep in a backoff), two threads read from pipes that
 * get one byte each time the program receives SIGUSR2 (so they are blocked
 * inside read itself, holding the module when an unload comes, until the
 * test lets them go), and one
 * thread maps and unmaps 1 MiB (the hooked path that succeeds). Every result
 * is checked: openat must fail with ENOENT, read must return its byte, mmap
 * must succeed. Whatever the module does around them, the program must see
 * exactly what the syscalls would return without it. Prints the counts;
 * exits 0 when every result was right, 1 otherwise. */
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

#define OPENERS 3
#define READERS 2

static atomic_int stop;
static atomic_long opens, reads, maps, wrong;
static const char* missing;
static int pipes[READERS][2];

static void report_wrong(const char* what, long got, int err) {
  atomic_fetch_add(&wrong, 1);
  fprintf(stderr, "kmod_stress: %s returned %ld (%s)\n", what, got, strerror(err));
}

static void* opener(void* arg) {
  (void)arg;
  while (!atomic_load(&stop)) {
    int fd = open(missing, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 || errno != ENOENT) {
      report_wrong("open of the missing file", fd, errno);
      if (fd >= 0)
        close(fd);
    }
    atomic_fetch_add(&opens, 1);
  }
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
    void* p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      report_wrong("mmap of 1 MiB", -1, errno);
      continue;
    }
    if (munmap(p, 1 << 20) != 0)
      report_wrong("munmap", -1, errno);
    atomic_fetch_add(&maps, 1);
  }
  return NULL;
}

static void feed_all(void) {
  for (int i = 0; i < READERS; i++)
    if (write(pipes[i][1], "x", 1) != 1)
      report_wrong("write to a pipe", -1, errno);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: kmod_stress SECONDS MISSING_PATH\n");
    return 2;
  }
  const int seconds = atoi(argv[1]);
  missing = argv[2];
  /* The signals are taken with sigtimedwait in the main thread only. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGUSR1);
  sigaddset(&signals, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);
  pthread_t threads[OPENERS + READERS + 1];
  int n = 0;
  for (long i = 0; i < READERS; i++)
    if (pipe2(pipes[i], O_CLOEXEC) != 0) {
      perror("pipe2");
      return 2;
    }
  for (int i = 0; i < OPENERS; i++)
    pthread_create(&threads[n++], NULL, opener, NULL);
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
  printf("kmod_stress: %ld opens, %ld reads, %ld maps, %ld wrong results\n", atomic_load(&opens),
         atomic_load(&reads), atomic_load(&maps), atomic_load(&wrong));
  return atomic_load(&wrong) == 0 ? 0 : 1;
}
