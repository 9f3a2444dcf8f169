// SPDX-License-Identifier: Apache-2.0
/* nonblocking_pipe (guard): read(2) on an empty O_NONBLOCK pipe returns
 * EAGAIN at once, even under a policy that retries read EAGAIN.
 *
 * EAGAIN on a non-blocking fd is the program's own protocol ("nothing there
 * yet, come back later"), not a fault, so an engine must pass it through
 * (docs/design.md, guards). The scenario makes a wrong retry visible: a helper
 * child writes a byte into the pipe SC_LATE_MS after the announced read, so a
 * read that was retried (the scenario policy would retry for a second) returns
 * that byte instead of EAGAIN. The runner also checks that the engine counted
 * the call as passed, with no retries. */
#include "scenario.h"

struct writer {
  const struct sc_gate* gate;
  int write_fd;
};

static int write_late(void* arg) {
  const struct writer* w = (const struct writer*)arg;
  if (sc_gate_wait(w->gate, 1) != 0)
    return SC_SETUP;
  sc_sleep_ms(SC_LATE_MS);
  return write(w->write_fd, "x", 1) == 1 ? 0 : SC_SETUP;
}

int main(void) {
  sc_name = "nonblocking_pipe";
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
    sc_setup_error("pipe2: %s", strerror(errno));

  struct sc_gate gate = sc_gate_open();
  struct writer writer = {&gate, fds[1]};
  const pid_t helper = sc_spawn_helper(write_late, &writer);
  close(gate.read_fd);

  sc_gate_pass(&gate);
  char byte;
  const int64_t start = sc_now_ns();
  const ssize_t n = read(fds[0], &byte, 1);
  const int err = errno;
  const int64_t ms = sc_ms_since(start);
  sc_kill_and_reap(helper);
  close(fds[0]);
  close(fds[1]);

  if (n == 1)
    sc_fail(
        "read on the empty O_NONBLOCK pipe was retried: it returned the byte written %d ms "
        "after the call, after %lld ms, instead of EAGAIN at once",
        SC_LATE_MS, (long long)ms);
  if (n != -1 || err != EAGAIN)
    sc_fail("read on the empty O_NONBLOCK pipe returned %zd (%s), expected -1 with EAGAIN", n,
            n < 0 ? sc_errno_name(err) : "no error");
  return SC_OK;
}
