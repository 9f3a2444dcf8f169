/* SPDX-License-Identifier: Apache-2.0 */
/* churn MODE [ARG]: programs whose threads and processes come and go while
 * their calls are being retried. Each exits with a status that does not
 * depend on ftsc (the test compares it with a native run) and prints what
 * went wrong, if anything.
 *
 *   backoff_exit MISSING   eight threads open MISSING in a loop (half with
 *                          open(2) through libc's exported function, half
 *                          with fopen(3), whose openat is libc-internal);
 *                          under a policy that retries openat ENOENT they
 *                          wait in backoffs when the main thread, after
 *                          100 ms, calls exit(3), while short-lived threads
 *                          start and end around them. Exits 3.
 *   setuid_exec PROGRAM    a child execs PROGRAM, a set-user-ID program;
 *                          exits with the child's status.
 *   close_under_guard      8 times: a blocking recv with SO_RCVTIMEO of
 *                          250 ms; another thread closes the socket as soon
 *                          as the receiver is blocked in recvfrom, so that by
 *                          the time recv fails with EAGAIN the fd a guard
 *                          would inspect is gone. Exits 0 when every recv
 *                          failed with EAGAIN, as natively.
 *   fork_storm             40 children at once, each forking 4 grandchildren
 *                          that open /dev/null 20 times; exits 0 when every
 *                          descendant exited 0.
 *   setuid_target MISSING  what setuid_exec runs: an fopen of MISSING (a
 *                          failing, retried call), then exits 5. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- backoff_exit ---- */

static const char* g_missing;

static void* open_loop(void* arg) {
  int with_fopen = (int)(long)arg;
  for (;;) {
    if (with_fopen) {
      FILE* f = fopen(g_missing, "r");
      if (f != NULL)
        fclose(f);
    } else {
      int fd = open(g_missing, O_RDONLY | O_CLOEXEC);
      if (fd >= 0)
        close(fd);
    }
  }
  return NULL;
}

static void* short_lived(void* arg) {
  (void)arg;
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0)
    close(fd);
  return NULL;
}

static int backoff_exit(const char* missing) {
  g_missing = missing;
  pthread_t t;
  for (long i = 0; i < 8; ++i) {
    if (pthread_create(&t, NULL, open_loop, (void*)(i % 2)) != 0)
      return 2;
    pthread_detach(t);
  }
  for (int i = 0; i < 40; ++i) {
    if (pthread_create(&t, NULL, short_lived, NULL) == 0)
      pthread_join(t, NULL);
    sleep_ms(2);
  }
  sleep_ms(20);
  exit(3);
}

/* ---- setuid_exec ---- */

static int setuid_exec(const char* program, const char* missing) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0)
    return 2;
  if (pid == 0) {
    execl(program, program, "setuid_target", missing, (char*)NULL);
    perror("execl");
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid)
    return 2;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int setuid_target(const char* missing) {
  FILE* f = fopen(missing, "r");
  printf("euid %ld ruid %ld, fopen %s\n", (long)geteuid(), (long)getuid(),
         f != NULL ? "succeeded" : strerror(errno));
  return 5;
}

/* ---- close_under_guard ---- */

struct closer {
  int fd;
  pid_t receiver; /* the thread that blocks in recv */
};

/* Is thread tid blocked in syscall nr? (proc(5): /proc/PID/task/TID/syscall) */
static int blocked_in(pid_t tid, long nr) {
  char path[64], text[64] = "";
  snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", (long)tid);
  FILE* f = fopen(path, "r");
  if (f == NULL)
    return 0;
  int got = fgets(text, sizeof text, f) != NULL;
  fclose(f);
  return got && strtol(text, NULL, 10) == nr;
}

static void* close_while_blocked(void* arg) {
  struct closer* c = arg;
  while (!blocked_in(c->receiver, SYS_recvfrom))
    sleep_ms(1);
  close(c->fd);
  return NULL;
}

static int close_under_guard(void) {
  int wrong = 0;
  for (int i = 0; i < 8; ++i) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
      return 2;
    struct timeval tv = {0, 250000};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct closer c = {sv[0], gettid()};
    pthread_t t;
    pthread_create(&t, NULL, close_while_blocked, &c);
    char b;
    ssize_t n = recv(sv[0], &b, 1, 0);
    int err = errno;
    pthread_join(t, NULL);
    close(sv[1]);
    if (n != -1 || err != EAGAIN) {
      fprintf(stderr, "recv %d: %zd %s\n", i, n, n < 0 ? strerror(err) : "");
      wrong++;
    }
  }
  return wrong == 0 ? 0 : 1;
}

/* ---- fork_storm ---- */

static int wait_all(int n) {
  int bad = 0;
  for (int i = 0; i < n; ++i) {
    int status = 0;
    if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      bad++;
  }
  return bad;
}

static int grandchild(void) {
  for (int i = 0; i < 20; ++i) {
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      return 1;
    close(fd);
  }
  return 0;
}

static int child(void) {
  for (int i = 0; i < 4; ++i) {
    pid_t pid = fork();
    if (pid < 0)
      return 1;
    if (pid == 0)
      _exit(grandchild());
  }
  return wait_all(4) == 0 ? 0 : 1;
}

static int fork_storm(void) {
  int started = 0;
  for (int i = 0; i < 40; ++i) {
    pid_t pid = fork();
    if (pid < 0)
      break;
    if (pid == 0)
      _exit(child());
    started++;
  }
  int bad = wait_all(started) + (40 - started);
  if (bad != 0)
    fprintf(stderr, "fork_storm: %d of 40 children failed\n", bad);
  return bad == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "backoff_exit") == 0 && argc > 2)
    return backoff_exit(argv[2]);
  if (strcmp(mode, "setuid_exec") == 0 && argc > 3)
    return setuid_exec(argv[2], argv[3]);
  if (strcmp(mode, "setuid_target") == 0 && argc > 2)
    return setuid_target(argv[2]);
  if (strcmp(mode, "close_under_guard") == 0)
    return close_under_guard();
  if (strcmp(mode, "fork_storm") == 0)
    return fork_storm();
  fprintf(stderr,
          "usage: churn backoff_exit MISSING | setuid_exec PROGRAM MISSING | "
          "close_under_guard | fork_storm\n");
  return 2;
}
