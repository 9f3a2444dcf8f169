/* SPDX-License-Identifier: Apache-2.0 */
/* pthread_cancel of a thread in a cancellation point, as glibc defines them
 * (read, connect, fsync ... are; their calls through an interposing library
 * must be too). MODE says where the thread is when it is cancelled:
 *   read      blocked in read(2) on an empty pipe;
 *   pending   the request came while the thread had cancellation disabled;
 *             it enables it and calls read(2) on a pipe that has data: the
 *             call acts on the request instead of returning;
 *   connect   in connect(2) to a Unix socket path that does not exist, which
 *             a policy may retry (connect=ENOENT) with a long backoff: the
 *             cancellation ends the wait between attempts;
 *   fsync     in fsync(2), which a policy may make fail and retry;
 *   handler   single-threaded: blocked in read(2) on an empty pipe when
 *             SIGALRM comes, whose handler (no SA_RESTART) asks to cancel
 *             the thread itself; read fails with EINTR, which a policy may
 *             retry (read=EINTR): the request acts at the wait that follows,
 *             while the retry is being decided with every signal blocked.
 * The thread blocks SIGUSR2 and pushes a cleanup handler, which checks that
 * the thread's signal mask is its own (SIGUSR2 blocked, SIGUSR1 not).
 * Compiled with -fexceptions, so that pthread_cleanup_push registers a
 * frame-based handler that only an unwinding through every frame reaches.
 * Prints "cancelled, cleanup ran, mask kept" and exits 0, or says what went
 * wrong and exits 1 (after 5 s if the thread cannot be joined; the handler
 * mode dies of SIGTERM then). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int go[2];
static const char* mode;
static volatile int cleanup_ran;
static volatile int mask_kept;
/* The call returned instead of acting on the request (no printf there: it
 * is a cancellation point itself). */
static volatile int returned = -2;

static void cleanup(void* arg) {
  (void)arg;
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  mask_kept = sigismember(&now, SIGUSR2) == 1 && sigismember(&now, SIGUSR1) == 0;
  cleanup_ran = 1;
}

static void* worker(void* arg) {
  (void)arg;
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &usr2, NULL);
  char c;
  pthread_cleanup_push(cleanup, NULL);
  if (strcmp(mode, "read") == 0) {
    returned = (int)read(go[0], &c, 1);
  } else if (strcmp(mode, "pending") == 0) {
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
    if (read(go[0], &c, 1) == 1) { /* the main thread writes after its request */
      pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
      returned = (int)read(go[0], &c, 1); /* the second byte is there */
    }
  } else if (strcmp(mode, "connect") == 0) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strcpy(addr.sun_path, "/nonexistent/ftsc-test.sock");
    returned = connect(fd, (struct sockaddr*)&addr, sizeof addr) == 0 ? 0 : errno;
  } else if (strcmp(mode, "fsync") == 0) {
    int fd = open("/dev/null", O_WRONLY);
    returned = fsync(fd) == 0 ? 0 : errno;
  }
  pthread_cleanup_pop(0);
  return NULL;
}

static void cancel_myself(int sig) {
  (void)sig;
  pthread_cancel(pthread_self());
}

static void report(void* arg) {
  cleanup(arg);
  printf("cancelled, cleanup ran, mask %s\n", mask_kept ? "kept" : "changed");
  if (!mask_kept)
    _exit(1);
}

/* The handler mode: the main thread is the one cancelled; its end is the process's (status 0). */
static int cancel_in_handler(void) {
  sigset_t usr2;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  sigprocmask(SIG_BLOCK, &usr2, NULL);
  struct sigaction sa = {.sa_handler = cancel_myself}; /* no SA_RESTART: read fails with EINTR */
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval at = {{0, 0}, {0, 300 * 1000}};
  setitimer(ITIMER_REAL, &at, NULL);
  /* A read that is not cancelled blocks for good: SIGTERM ends it after 5 s. */
  struct sigevent watchdog = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGTERM};
  timer_t timer;
  struct itimerspec in_5s = {{0, 0}, {5, 0}};
  if (timer_create(CLOCK_MONOTONIC, &watchdog, &timer) != 0 ||
      timer_settime(timer, 0, &in_5s, NULL))
    return 2;
  char c;
  pthread_cleanup_push(report, NULL);
  returned = (int)read(go[0], &c, 1);
  pthread_cleanup_pop(0);
  printf("the thread was not cancelled: its call returned %d (%s)\n", returned, strerror(errno));
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: preload_cancel read|pending|connect|fsync|handler\n");
    return 2;
  }
  mode = argv[1];
  setvbuf(stdout, NULL, _IONBF, 0);
  if (pipe(go) != 0)
    return 2;
  if (strcmp(mode, "handler") == 0)
    return cancel_in_handler();
  pthread_t thread;
  if (pthread_create(&thread, NULL, worker, NULL) != 0)
    return 2;
  struct timespec settle = {0, 300 * 1000 * 1000};
  nanosleep(&settle, NULL); /* the thread is in its call by now */
  if (pthread_cancel(thread) != 0)
    return 2;
  if (strcmp(mode, "pending") == 0 && write(go[1], "xy", 2) != 2)
    return 2;
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 5;
  void* result = NULL;
  int err = pthread_timedjoin_np(thread, &result, &deadline);
  if (err != 0) {
    printf("join: %s\n", strerror(err));
    return 1;
  }
  if (result != PTHREAD_CANCELED) {
    printf("the thread was not cancelled: its call returned %d\n", returned);
    return 1;
  }
  printf("cancelled, cleanup %s, mask %s\n", cleanup_ran ? "ran" : "did not run",
         mask_kept ? "kept" : "changed");
  return cleanup_ran && mask_kept ? 0 : 1;
}
