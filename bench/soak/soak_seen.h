/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The errors a soak program met, per syscall and errno, and the way the soak
 * programs print: their reports go out with write, which injected faults
 * reach as well, so a failed write is tried again.
 *
 * A program prints its counts as "seen SYSCALL ERRNO COUNT" lines; the checker
 * compares them with ftsc's statistics (a failure the program saw is one ftsc
 * counted as given up or passed).
 */
#ifndef FTSC_BENCH_SOAK_SEEN_H
#define FTSC_BENCH_SOAK_SEEN_H

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SOAK_SEEN_KINDS 32

struct soak_seen {
  pthread_mutex_t lock;
  int n;
  struct {
    const char* syscall;
    int err;
    long count;
  } kinds[SOAK_SEEN_KINDS];
};

#define SOAK_SEEN_INIT              \
  {                                 \
    PTHREAD_MUTEX_INITIALIZER, 0, { \
      { 0, 0, 0 }                   \
    }                               \
  }

static inline void soak_seen_add(struct soak_seen* s, const char* syscall, int err) {
  int i;
  pthread_mutex_lock(&s->lock);
  for (i = 0; i < s->n; i++)
    if (s->kinds[i].err == err && strcmp(s->kinds[i].syscall, syscall) == 0)
      break;
  if (i == s->n && s->n < SOAK_SEEN_KINDS) {
    s->kinds[i].syscall = syscall;
    s->kinds[i].err = err;
    s->kinds[i].count = 0;
    s->n++;
  }
  if (i < s->n)
    s->kinds[i].count++;
  pthread_mutex_unlock(&s->lock);
}

/* Writes all of buf to fd, trying again after a failure for up to 10 s. */
static inline int soak_write_fully(int fd, const char* buf, size_t n) {
  size_t done = 0;
  int tries = 0;
  while (done < n) {
    ssize_t w = write(fd, buf + done, n - done);
    if (w < 0) {
      struct timespec pause = {0, 10 * 1000 * 1000};
      if (++tries > 1000)
        return -1;
      nanosleep(&pause, NULL);
      continue;
    }
    done += (size_t)w;
  }
  return 0;
}

/* printf to fd, as one write. */
__attribute__((format(printf, 2, 3))) static inline int soak_print(int fd, const char* fmt, ...) {
  char buf[4096];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -1;
  if ((size_t)n >= sizeof buf)
    n = (int)sizeof buf - 1;
  return soak_write_fully(fd, buf, (size_t)n);
}

static inline void soak_seen_print(struct soak_seen* s, int fd) {
  int i;
  pthread_mutex_lock(&s->lock);
  for (i = 0; i < s->n; i++)
    soak_print(fd, "seen %s %s %ld\n", s->kinds[i].syscall, strerrorname_np(s->kinds[i].err),
               s->kinds[i].count);
  pthread_mutex_unlock(&s->lock);
}

#endif /* FTSC_BENCH_SOAK_SEEN_H */
