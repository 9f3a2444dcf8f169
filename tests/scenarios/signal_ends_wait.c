// SPDX-License-Identifier: Apache-2.0
/* signal_ends_wait (guard): a signal that arrives during a long backoff ends
 * the wait; the call returns its last error at once and the handler runs.
 *
 * open(2) of a file that never appears, under a policy that would retry
 * ENOENT ten times a second apart (10 s in all). A SIGALRM handler is
 * installed (with SA_RESTART, the common case, which must not make an engine
 * restart its own wait) and a timer fires 200 ms after the call started.
 *
 * Usage: scenario_signal_ends_wait [--engine]. Natively (no argument) open
 * fails at once with ENOENT and the handler runs later. With --engine, as the
 * runner passes under every engine, the open must have waited (at least
 * 150 ms: the timer ended the wait, not the lack of one), returned ENOENT well
 * before the schedule would have ended (within 5 s of 10 s), and the handler
 * must already have run when open returned (the signal was delivered, not
 * held back until the retries were over). */
#include <sys/time.h>

#include "scenario.h"

#define TIMER_MS 200
#define MIN_WAIT_MS 150
#define MAX_WAIT_MS 5000

static volatile sig_atomic_t handled;

static void on_alarm(int sig) {
  (void)sig;
  handled = 1;
}

int main(int argc, char** argv) {
  sc_name = "signal_ends_wait";
  const int under_engine = argc > 1 && strcmp(argv[1], "--engine") == 0;
  char dir[4096];
  char path[4200];
  sc_make_temp_dir(dir, sizeof dir);
  snprintf(path, sizeof path, "%s/never-appears", dir);

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGALRM, &sa, NULL) != 0)
    sc_setup_error("sigaction: %s", strerror(errno));
  const struct itimerval timer = {{0, 0}, {0, TIMER_MS * 1000}};

  if (setitimer(ITIMER_REAL, &timer, NULL) != 0)
    sc_setup_error("setitimer: %s", strerror(errno));
  const int64_t start = sc_now_ns();
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  const int err = errno;
  const int64_t ms = sc_ms_since(start);
  const int handled_at_return = handled;
  if (fd >= 0)
    close(fd);
  rmdir(dir);

  if (fd >= 0)
    sc_fail("open of %s succeeded, but nothing ever creates it", path);
  if (err != ENOENT)
    sc_fail("open of %s failed with %s after %lld ms, expected the last error ENOENT", path,
            sc_errno_name(err), (long long)ms);
  if (under_engine) {
    if (ms < MIN_WAIT_MS)
      sc_fail(
          "open returned ENOENT after %lld ms: no retry wait happened for the signal to end "
          "(the policy retries ENOENT ten times, a second apart)",
          (long long)ms);
    if (ms > MAX_WAIT_MS)
      sc_fail(
          "open returned ENOENT only after %lld ms: the signal %d ms after the call did not "
          "end the wait",
          (long long)ms, TIMER_MS);
    if (!handled_at_return)
      sc_fail("open returned ENOENT after %lld ms but the SIGALRM handler had not run yet",
              (long long)ms);
    return SC_OK;
  }
  /* Natively: the handler still has to run, to show the timer works here. */
  const int64_t wait_start = sc_now_ns();
  while (!handled && sc_ms_since(wait_start) < MAX_WAIT_MS) {
    const struct timespec tick = {0, 10 * 1000 * 1000};
    nanosleep(&tick, NULL);
  }
  if (!handled)
    sc_setup_error("the SIGALRM handler did not run within %d ms of a %d ms timer", MAX_WAIT_MS,
                   TIMER_MS);
  return SC_OK;
}
