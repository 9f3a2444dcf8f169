// SPDX-License-Identifier: Apache-2.0
// The retry unit against hand-built compiled policies: every Reason, the
// paper's schedule, jitter, deadline, budget, observe mode, guards, injection
// and the statistics each scenario leaves behind.
#include "decide/retry_unit.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace ftsc::decide {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kStart = 5'000 * kMs;  // an engine's monotonic clock at the first attempt

std::unique_ptr<ftsc_policy> make_policy() {
  auto p = std::make_unique<ftsc_policy>();  // value-initialised: all zero
  p->magic = FTSC_POLICY_MAGIC;
  p->version = FTSC_POLICY_VERSION;
  p->size = sizeof(ftsc_policy);
  for (ftsc_syscall& sc : p->syscalls) {
    sc.fd_arg = sc.flags_arg = sc.timeout_arg = FTSC_ARG_NONE;
    sc.nonblock_cmds[0] = sc.nonblock_cmds[1] = -1;
  }
  // Schedule 0: the paper's 10 ms, 50 ms, 100 ms.
  p->n_schedules = 1;
  p->schedules[0].n_delays = 3;
  p->schedules[0].delay_ns[0] = 10 * kMs;
  p->schedules[0].delay_ns[1] = 50 * kMs;
  p->schedules[0].delay_ns[2] = 100 * kMs;
  return p;
}

uint32_t add_schedule(ftsc_policy& p, std::vector<int64_t> delays_ms, uint32_t jitter_ppm = 0,
                      int64_t deadline_ms = 0) {
  uint32_t i = p.n_schedules++;
  ftsc_schedule& s = p.schedules[i];
  s.n_delays = static_cast<uint32_t>(delays_ms.size());
  for (size_t k = 0; k < delays_ms.size(); ++k)
    s.delay_ns[k] = static_cast<uint64_t>(delays_ms[k] * kMs);
  s.jitter_ppm = jitter_ppm;
  s.deadline_ns = static_cast<uint64_t>(deadline_ms * kMs);
  return i;
}

void set_cell(ftsc_policy& p, long nr, int err, unsigned decision, unsigned schedule = 0) {
  p.cells[nr][err] = FTSC_CELL_MAKE(decision, schedule);
  if (decision == FTSC_RETRY)
    p.syscalls[nr].flags |= FTSC_SC_IN_POLICY;
}

std::unique_ptr<ftsc_stats> make_stats() {
  auto s = std::make_unique<ftsc_stats>();
  ftsc_stats_init(s.get());
  return s;
}

// The slot of (nr, err) if one was claimed; a zero slot otherwise.
ftsc_stats_slot slot_of(const ftsc_stats& s, long nr, int err) {
  for (const ftsc_stats_slot& slot : s.slots)
    if (slot.key == FTSC_STATS_KEY(nr, err))
      return slot;
  return ftsc_stats_slot{};
}

int used_slots(const ftsc_stats& s) {
  int n = 0;
  for (const ftsc_stats_slot& slot : s.slots)
    n += slot.key != 0;
  return n;
}

// Every counted call ends in exactly one outcome, and each attempt after the
// first is a retry.
void expect_consistent(const ftsc_stats_slot& s) {
  EXPECT_EQ(s.calls, s.recovered + s.gave_up + s.passed + s.would_retry + s.budget);
  EXPECT_EQ(s.attempts, s.calls + s.retries);
  EXPECT_LE(s.interrupted, s.gave_up);
  EXPECT_LE(s.guard_unknown, s.gave_up + s.passed);
  EXPECT_EQ(s.in_flight, 0u);
}

class FakeProbe : public GuardProbe {
 public:
  // Each answer: kClear, kHolds, or -errno (the check failed).
  int nonblocking = kClear;
  int rcvtimeo = kClear;
  int sndtimeo = kClear;
  int fd_calls = 0;
  int sock_calls = 0;
  int last_fd = -1;
  bool last_send = false;

  int fd_nonblocking(int fd) override {
    ++fd_calls;
    last_fd = fd;
    return nonblocking;
  }
  int socket_timeout(int fd, bool send) override {
    ++sock_calls;
    last_fd = fd;
    last_send = send;
    return send ? sndtimeo : rcvtimeo;
  }
  int calls() const { return fd_calls + sock_calls; }
};

SyscallArgs args_of(long nr, std::vector<uint64_t> a = {}) {
  SyscallArgs s;
  s.nr = nr;
  for (size_t i = 0; i < a.size() && i < 6; ++i)
    s.args[i] = a[i];
  return s;
}

// A minimal engine: executes "attempts" from a script (the last entry repeats),
// injects first when the policy says so, and waits exactly the delay it is told.
struct Engine {
  explicit Engine(const RetryUnit& u) : unit(u) {}

  long run(const SyscallArgs& args, std::vector<long> results, uint64_t seed = 0) {
    unit.begin_call(call, args.nr, &budget, seed);
    decisions.clear();
    size_t executed = 0;
    for (;;) {
      long r;
      int inj = unit.inject(call, counters.next(args.nr));
      if (inj != 0) {
        r = -inj;
      } else {
        r = results[std::min(executed, results.size() - 1)];
        ++executed;
      }
      Decision d = unit.on_result(call, args, r, probe, now);
      decisions.push_back(d);
      if (d.action == Action::kReturn)
        return r;
      now += d.delay_ns;
      unit.on_waited(call, d.delay_ns);
    }
  }
  Decision last() const { return decisions.back(); }

  const RetryUnit& unit;
  RetryBudget budget;
  AttemptCounters counters;
  FakeProbe probe;
  CallState call;
  int64_t now = kStart;
  std::vector<Decision> decisions;
};

TEST(RetryUnit, SuccessOnFirstAttemptCountsNothing) {
  auto p = make_policy();
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  EXPECT_EQ(e.run(args_of(SYS_openat), {3}), 3);
  ASSERT_EQ(e.decisions.size(), 1u);
  EXPECT_EQ(e.last().action, Action::kReturn);
  EXPECT_EQ(e.last().reason, Reason::kSuccess);
  EXPECT_EQ(used_slots(*stats), 0);
  // Large "negative" results that are not -4095..-1 are successes (e.g. addresses).
  EXPECT_EQ(e.run(args_of(SYS_openat), {-5000}), -5000);
  EXPECT_EQ(e.last().reason, Reason::kSuccess);
}

TEST(RetryUnit, PaperScheduleThenGivesUpWithTheLastErrno) {
  auto p = make_policy();
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  EXPECT_EQ(e.run(args_of(SYS_openat), {-ENOENT}), -ENOENT);
  ASSERT_EQ(e.decisions.size(), 4u);  // at most 4 attempts
  EXPECT_EQ(e.decisions[0].action, Action::kRetry);
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  EXPECT_EQ(e.decisions[0].delay_ns, 10 * kMs);
  EXPECT_EQ(e.decisions[1].delay_ns, 50 * kMs);
  EXPECT_EQ(e.decisions[2].delay_ns, 100 * kMs);
  EXPECT_EQ(e.decisions[3].action, Action::kReturn);
  EXPECT_EQ(e.decisions[3].reason, Reason::kScheduleExhausted);
  EXPECT_EQ(e.call.first_errno, ENOENT);
  EXPECT_EQ(e.call.last_errno, ENOENT);
  EXPECT_EQ(e.call.attempts, 4u);
  EXPECT_EQ(e.call.retries, 3u);
  EXPECT_EQ(e.call.waited_ns, 160 * kMs);
  EXPECT_EQ(e.call.first_failure_ns, kStart);

  ftsc_stats_slot s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.attempts, 4u);
  EXPECT_EQ(s.retries, 3u);
  EXPECT_EQ(s.gave_up, 1u);
  EXPECT_EQ(s.recovered, 0u);
  EXPECT_EQ(s.wait_ns, static_cast<uint64_t>(160 * kMs));
  expect_consistent(s);
}

TEST(RetryUnit, AnAsyncCallIsCountedInItsOwnRow) {
  auto p = make_policy();
  set_cell(*p, SYS_connect, ECONNREFUSED, FTSC_RETRY);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  RetryBudget budget;
  FakeProbe probe;
  CallState call;
  unit.begin_call(call, SYS_connect, &budget, 0);
  unit.mark_async(call);
  const SyscallArgs args = args_of(SYS_connect, {3});
  EXPECT_EQ(unit.on_result(call, args, -ECONNREFUSED, probe, kStart).action, Action::kRetry);
  unit.on_waited(call, 10 * kMs);
  EXPECT_EQ(unit.on_result(call, args, 0, probe, kStart + 10 * kMs).reason, Reason::kSuccess);
  // Nothing in the row of connects that failed at once.
  EXPECT_EQ(slot_of(*stats, SYS_connect, ECONNREFUSED).calls, 0u);
  ftsc_stats_slot s = slot_of(*stats, SYS_connect | FTSC_STATS_ASYNC, ECONNREFUSED);
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.recovered, 1u);
  EXPECT_EQ(s.retries, 1u);
  expect_consistent(s);
}

TEST(RetryUnit, RecoversOnTheThirdAttempt) {
  auto p = make_policy();
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  EXPECT_EQ(e.run(args_of(SYS_openat), {-ENOENT, -ENOENT, 7}), 7);
  ASSERT_EQ(e.decisions.size(), 3u);
  EXPECT_EQ(e.last().reason, Reason::kSuccess);
  ftsc_stats_slot s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.attempts, 3u);
  EXPECT_EQ(s.retries, 2u);
  EXPECT_EQ(s.recovered, 1u);
  EXPECT_EQ(s.gave_up, 0u);
  EXPECT_EQ(s.wait_ns, static_cast<uint64_t>(60 * kMs));
  expect_consistent(s);
}

// Between its first failure and its end a call is in flight: the counters
// add up at every moment, and a call whose thread dies in a wait (nothing
// ends it) stays visible.
TEST(RetryUnit, ACallIsInFlightUntilItEnds) {
  auto p = make_policy();
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  CallState call;
  unit.begin_call(call, SYS_openat, nullptr, 0);
  SyscallArgs args = args_of(SYS_openat);
  FakeProbe probe;
  Decision d = unit.on_result(call, args, -ENOENT, probe, kStart);
  ASSERT_EQ(d.action, Action::kRetry);
  ftsc_stats_slot s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.in_flight, 1u);
  unit.on_waited(call, d.delay_ns);
  d = unit.on_result(call, args, 3, probe, kStart + d.delay_ns);
  EXPECT_EQ(d.reason, Reason::kSuccess);
  s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_EQ(s.recovered, 1u);
  expect_consistent(s);
}

// An engine that cannot wait ends the call with its last error, given up,
// and not as if a signal had ended the wait.
TEST(RetryUnit, AnEngineThatCannotWaitEndsTheCall) {
  auto p = make_policy();
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  CallState call;
  unit.begin_call(call, SYS_openat, nullptr, 0);
  FakeProbe probe;
  ASSERT_EQ(unit.on_result(call, args_of(SYS_openat), -ENOENT, probe, kStart).action,
            Action::kRetry);
  Decision end = unit.on_cannot_wait(call, 0);
  EXPECT_EQ(end.reason, Reason::kCannotWait);
  EXPECT_STREQ(reason_name(end.reason), "cannot_wait");
  ftsc_stats_slot s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.gave_up, 1u);
  EXPECT_EQ(s.interrupted, 0u);
  expect_consistent(s);
}

TEST(RetryUnit, EachFailureLooksUpItsOwnCell) {
  auto p = make_policy();
  uint32_t short_schedule = add_schedule(*p, {5, 7});
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY, 0);
  set_cell(*p, SYS_openat, EACCES, FTSC_RETRY, short_schedule);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  // ENOENT (schedule 0, delay 1) then EACCES (its own schedule, delay 2 of 2), then EACCES
  // again: that schedule has no third delay.
  EXPECT_EQ(e.run(args_of(SYS_openat), {-ENOENT, -EACCES, -EACCES}), -EACCES);
  ASSERT_EQ(e.decisions.size(), 3u);
  EXPECT_EQ(e.decisions[0].delay_ns, 10 * kMs);
  EXPECT_EQ(e.decisions[1].delay_ns, 7 * kMs);
  EXPECT_EQ(e.decisions[2].reason, Reason::kScheduleExhausted);
  EXPECT_EQ(e.call.first_errno, ENOENT);
  EXPECT_EQ(e.call.last_errno, EACCES);
  // Counted under the first failure's errno only.
  ftsc_stats_slot s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.attempts, 3u);
  EXPECT_EQ(s.gave_up, 1u);
  EXPECT_EQ(slot_of(*stats, SYS_openat, EACCES).key, 0u);
  expect_consistent(s);

  // A later errno without a rule ends a call that already retried: gave up, not passed.
  EXPECT_EQ(e.run(args_of(SYS_openat), {-ENOENT, -EIO}), -EIO);
  EXPECT_EQ(e.last().reason, Reason::kNoRule);
  s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.calls, 2u);
  EXPECT_EQ(s.gave_up, 2u);
  EXPECT_EQ(s.passed, 0u);
  expect_consistent(s);
}

TEST(RetryUnit, RestartCodesPassThroughUntouchedAndUncounted) {
  auto p = make_policy();
  set_cell(*p, SYS_read, EINTR, FTSC_RETRY);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  for (long code : {512L, 513L, 514L, 516L, 515L, 600L, 4095L}) {
    SCOPED_TRACE(code);
    EXPECT_EQ(e.run(args_of(SYS_read), {-code}), -code);
    ASSERT_EQ(e.decisions.size(), 1u);
    EXPECT_EQ(e.last().reason, Reason::kRestartCode);
    EXPECT_EQ(e.last().action, Action::kReturn);
  }
  EXPECT_EQ(used_slots(*stats), 0);

  // After a retry, a restart code ends the call: it had retried, so it gave up.
  EXPECT_EQ(e.run(args_of(SYS_read), {-EINTR, -512}), -512);
  EXPECT_EQ(e.last().reason, Reason::kRestartCode);
  ftsc_stats_slot s = slot_of(*stats, SYS_read, EINTR);
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.attempts, 2u);
  EXPECT_EQ(s.gave_up, 1u);
  expect_consistent(s);
}

TEST(RetryUnit, NeverRetriedSyscallsPassWhateverThePolicySays) {
  auto p = make_policy();
  set_cell(*p, SYS_close, EIO, FTSC_RETRY);
  set_cell(*p, SYS_close, EINTR, FTSC_RETRY);
  p->syscalls[SYS_close].flags |= FTSC_SC_NEVER_RETRY;
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  for (int err : {EIO, EINTR}) {
    EXPECT_EQ(e.run(args_of(SYS_close, {3}), {-err}), -err);
    EXPECT_EQ(e.last().reason, Reason::kNeverRetrySyscall);
    ftsc_stats_slot s = slot_of(*stats, SYS_close, err);
    EXPECT_EQ(s.calls, 1u);
    EXPECT_EQ(s.passed, 1u);
    expect_consistent(s);
  }
}

TEST(RetryUnit, ProgramBugErrnosAreNeverRetried) {
  auto p = make_policy();
  auto stats = make_stats();
  for (int err : {EFAULT, EBADF, ENOSYS})
    set_cell(*p, SYS_read, err, FTSC_RETRY);
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  for (int err : {EFAULT, EBADF, ENOSYS}) {
    SCOPED_TRACE(err);
    EXPECT_EQ(e.run(args_of(SYS_read), {-err}), -err);
    ASSERT_EQ(e.decisions.size(), 1u);
    EXPECT_EQ(e.last().reason, Reason::kProgramBug);
    EXPECT_EQ(slot_of(*stats, SYS_read, err).passed, 1u);
  }
}

TEST(RetryUnit, NoRuleNeverAndUndecidedPass) {
  auto p = make_policy();
  set_cell(*p, SYS_openat, EACCES, FTSC_NEVER);
  set_cell(*p, SYS_openat, EPERM, FTSC_UNDECIDED);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  struct Case {
    int err;
    Reason reason;
  };
  for (Case c : {Case{ENOENT, Reason::kNoRule}, Case{EACCES, Reason::kPolicyNever},
                 Case{EPERM, Reason::kUndecided}}) {
    SCOPED_TRACE(reason_name(c.reason));
    EXPECT_EQ(e.run(args_of(SYS_openat), {-c.err}), -c.err);
    ASSERT_EQ(e.decisions.size(), 1u);
    EXPECT_EQ(e.last().reason, c.reason);
    EXPECT_EQ(e.last().delay_ns, 0);
    ftsc_stats_slot s = slot_of(*stats, SYS_openat, c.err);
    EXPECT_EQ(s.calls, 1u);
    EXPECT_EQ(s.attempts, 1u);
    EXPECT_EQ(s.passed, 1u);
    expect_consistent(s);
  }
  // Numbers outside the table look up as no rule, and never crash.
  for (long nr : {-1L, 600L, 100000L}) {
    EXPECT_EQ(e.run(args_of(nr), {-EIO}), -EIO);
    EXPECT_EQ(e.last().reason, Reason::kNoRule);
  }
  EXPECT_EQ(e.run(args_of(SYS_openat), {-300}), -300);  // errno beyond the policy's table
  EXPECT_EQ(e.last().reason, Reason::kNoRule);
}

// --- guards ------------------------------------------------------------------

struct GuardCase {
  std::unique_ptr<ftsc_policy> policy = make_policy();
  std::unique_ptr<ftsc_stats> stats = make_stats();
};

TEST(RetryUnit, GuardAlwaysMakesProtocolErrnosPassWithoutProbing) {
  GuardCase g;
  ftsc_syscall& sc = g.policy->syscalls[SYS_futex];
  sc.flags |= FTSC_SC_GUARD_ALWAYS;
  sc.protocol_errnos[0] = EAGAIN;
  sc.protocol_errnos[1] = ETIMEDOUT;
  set_cell(*g.policy, SYS_futex, EAGAIN, FTSC_RETRY);
  set_cell(*g.policy, SYS_futex, EINTR, FTSC_RETRY);
  RetryUnit unit(*g.policy, g.stats.get());
  Engine e(unit);
  EXPECT_EQ(e.run(args_of(SYS_futex), {-EAGAIN}), -EAGAIN);
  EXPECT_EQ(e.last().reason, Reason::kProtocol);
  EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_ALWAYS);
  // EWOULDBLOCK is EAGAIN on Linux.
  EXPECT_EQ(e.run(args_of(SYS_futex), {-EWOULDBLOCK}), -EAGAIN);
  EXPECT_EQ(e.last().reason, Reason::kProtocol);
  // Errnos that are not the syscall's protocol errnos are retried as usual.
  e.run(args_of(SYS_futex), {-EINTR, 0});
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  EXPECT_EQ(e.probe.calls(), 0);
  EXPECT_EQ(slot_of(*g.stats, SYS_futex, EAGAIN).passed, 2u);
}

TEST(RetryUnit, GuardNonblockFlags) {
  GuardCase g;
  ftsc_syscall& sc = g.policy->syscalls[SYS_recvfrom];
  sc.flags |= FTSC_SC_GUARD_NONBLOCK_FLAGS;
  sc.flags_arg = 3;
  sc.nonblock_mask = MSG_DONTWAIT;
  sc.protocol_errnos[0] = EAGAIN;
  set_cell(*g.policy, SYS_recvfrom, EAGAIN, FTSC_RETRY);
  RetryUnit unit(*g.policy, g.stats.get());
  Engine e(unit);
  e.run(args_of(SYS_recvfrom, {4, 0, 100, MSG_DONTWAIT | MSG_PEEK}), {-EAGAIN});
  EXPECT_EQ(e.last().reason, Reason::kProtocol);
  EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_NONBLOCK_FLAGS);
  e.run(args_of(SYS_recvfrom, {4, 0, 100, MSG_PEEK}), {-EAGAIN, 10});
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  EXPECT_EQ(e.last().reason, Reason::kSuccess);
  EXPECT_EQ(e.probe.calls(), 0);
}

TEST(RetryUnit, GuardNonblockCommand) {
  GuardCase g;
  ftsc_syscall& sc = g.policy->syscalls[SYS_fcntl];
  sc.flags |= FTSC_SC_GUARD_NONBLOCK_CMD;
  sc.flags_arg = 1;
  sc.nonblock_cmds[0] = F_SETLK;
  sc.nonblock_cmds[1] = F_OFD_SETLK;
  sc.protocol_errnos[0] = EAGAIN;
  sc.protocol_errnos[1] = EACCES;
  set_cell(*g.policy, SYS_fcntl, EAGAIN, FTSC_RETRY);
  set_cell(*g.policy, SYS_fcntl, EACCES, FTSC_RETRY);
  RetryUnit unit(*g.policy, g.stats.get());
  Engine e(unit);
  for (int cmd : {F_SETLK, F_OFD_SETLK}) {
    e.run(args_of(SYS_fcntl, {3, static_cast<uint64_t>(cmd)}), {-EACCES});
    EXPECT_EQ(e.last().reason, Reason::kProtocol);
    EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_NONBLOCK_CMD);
  }
  e.run(args_of(SYS_fcntl, {3, F_SETLKW}), {-EAGAIN, 0});
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  // An unused slot (-1) never matches, even a command of -1.
  sc.nonblock_cmds[1] = -1;
  e.run(args_of(SYS_fcntl, {3, 0xffffffffu}), {-EAGAIN, 0});
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  EXPECT_EQ(e.probe.calls(), 0);
}

TEST(RetryUnit, GuardTimeoutArgument) {
  GuardCase g;
  ftsc_syscall& sc = g.policy->syscalls[SYS_rt_sigtimedwait];
  sc.flags |= FTSC_SC_GUARD_TIMEOUT_ARG;
  sc.timeout_arg = 2;
  sc.protocol_errnos[0] = EAGAIN;
  set_cell(*g.policy, SYS_rt_sigtimedwait, EAGAIN, FTSC_RETRY);
  RetryUnit unit(*g.policy, g.stats.get());
  Engine e(unit);
  e.run(args_of(SYS_rt_sigtimedwait, {0x1000, 0, 0x7ffc0000, 8}), {-EAGAIN});
  EXPECT_EQ(e.last().reason, Reason::kProtocol);
  EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_TIMEOUT_ARG);
  e.run(args_of(SYS_rt_sigtimedwait, {0x1000, 0, 0, 8}), {-EAGAIN, 10});
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  EXPECT_EQ(e.probe.calls(), 0);
}

TEST(RetryUnit, GuardNonblockingFdAsksTheProbeOnlyWhenNeeded) {
  GuardCase g;
  ftsc_syscall& sc = g.policy->syscalls[SYS_read];
  sc.flags |= FTSC_SC_GUARD_NONBLOCK_FD;
  sc.fd_arg = 0;
  sc.protocol_errnos[0] = EAGAIN;
  set_cell(*g.policy, SYS_read, EAGAIN, FTSC_RETRY);
  set_cell(*g.policy, SYS_read, EIO, FTSC_RETRY);
  RetryUnit unit(*g.policy, g.stats.get());
  Engine e(unit);

  e.probe.nonblocking = GuardProbe::kHolds;
  e.run(args_of(SYS_read, {7, 0, 10}), {-EAGAIN});
  EXPECT_EQ(e.last().reason, Reason::kProtocol);
  EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_NONBLOCK_FD);
  EXPECT_EQ(e.probe.fd_calls, 1);
  EXPECT_EQ(e.probe.last_fd, 7);

  e.probe.nonblocking = GuardProbe::kClear;
  e.run(args_of(SYS_read, {7, 0, 10}), {-EAGAIN, 10});
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  EXPECT_EQ(e.probe.fd_calls, 2);

  // Not a protocol errno: no probe.
  e.probe.fd_calls = 0;
  e.run(args_of(SYS_read, {7, 0, 10}), {-EIO, 10});
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  // No retry rule for the protocol errno: no probe.
  e.run(args_of(SYS_pread64, {7, 0, 10}), {-EAGAIN});
  EXPECT_EQ(e.last().reason, Reason::kNoRule);
  g.policy->cells[SYS_read][EAGAIN] = FTSC_CELL_MAKE(FTSC_NEVER, 0);
  e.run(args_of(SYS_read, {7, 0, 10}), {-EAGAIN});
  EXPECT_EQ(e.last().reason, Reason::kPolicyNever);
  EXPECT_EQ(e.probe.calls(), 0);
}

TEST(RetryUnit, GuardSocketTimeouts) {
  GuardCase g;
  for (long nr : {SYS_recvfrom, SYS_sendto}) {
    ftsc_syscall& sc = g.policy->syscalls[nr];
    sc.flags |= nr == SYS_recvfrom ? FTSC_SC_GUARD_SOCK_RCVTIMEO : FTSC_SC_GUARD_SOCK_SNDTIMEO;
    sc.flags |= FTSC_SC_GUARD_NONBLOCK_FLAGS;
    sc.fd_arg = 0;
    sc.flags_arg = 3;
    sc.nonblock_mask = MSG_DONTWAIT;
    sc.protocol_errnos[0] = EAGAIN;
    set_cell(*g.policy, nr, EAGAIN, FTSC_RETRY);
  }
  RetryUnit unit(*g.policy, g.stats.get());
  Engine e(unit);

  e.probe.rcvtimeo = GuardProbe::kHolds;
  e.run(args_of(SYS_recvfrom, {5, 0, 10, 0}), {-EAGAIN});
  EXPECT_EQ(e.last().reason, Reason::kProtocol);
  EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_SOCK_RCVTIMEO);
  EXPECT_EQ(e.probe.sock_calls, 1);
  EXPECT_FALSE(e.probe.last_send);
  EXPECT_EQ(e.probe.last_fd, 5);

  // The flags decide first: no probe.
  e.run(args_of(SYS_recvfrom, {5, 0, 10, MSG_DONTWAIT}), {-EAGAIN});
  EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_NONBLOCK_FLAGS);
  EXPECT_EQ(e.probe.sock_calls, 1);

  e.run(args_of(SYS_sendto, {6, 0, 10, 0}), {-EAGAIN, 10});
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);  // SO_SNDTIMEO not set
  EXPECT_TRUE(e.probe.last_send);
  e.probe.sndtimeo = GuardProbe::kHolds;
  e.run(args_of(SYS_sendto, {6, 0, 10, 0}), {-EAGAIN});
  EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_SOCK_SNDTIMEO);
  EXPECT_EQ(e.probe.fd_calls, 0);
}

// A guard that cannot be checked counts as holding: no retry, a reason and a
// counter of its own, and which guard and why in the decision.
TEST(RetryUnit, GuardThatCannotBeCheckedFailsClosed) {
  GuardCase g;
  ftsc_syscall& sc = g.policy->syscalls[SYS_recvfrom];
  sc.flags |= FTSC_SC_GUARD_NONBLOCK_FD | FTSC_SC_GUARD_SOCK_RCVTIMEO;
  sc.fd_arg = 0;
  sc.protocol_errnos[0] = EAGAIN;
  set_cell(*g.policy, SYS_recvfrom, EAGAIN, FTSC_RETRY);
  set_cell(*g.policy, SYS_recvfrom, ECONNREFUSED, FTSC_RETRY);
  RetryUnit unit(*g.policy, g.stats.get());
  Engine e(unit);

  // pidfd_getfd refused: the socket timeout is unknown.
  e.probe.rcvtimeo = -EPERM;
  EXPECT_EQ(e.run(args_of(SYS_recvfrom, {4, 0, 10, 0}), {-EAGAIN, 10}), -EAGAIN);
  ASSERT_EQ(e.decisions.size(), 1u);
  EXPECT_EQ(e.last().action, Action::kReturn);
  EXPECT_EQ(e.last().reason, Reason::kGuardUnknown);
  EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_SOCK_RCVTIMEO);
  EXPECT_EQ(e.last().probe_error, -EPERM);

  // Another guard that holds decides, whatever the unknown one would say.
  e.probe.nonblocking = GuardProbe::kHolds;
  e.run(args_of(SYS_recvfrom, {4, 0, 10, 0}), {-EAGAIN});
  EXPECT_EQ(e.last().reason, Reason::kProtocol);
  EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_NONBLOCK_FD);

  // The fd is gone by the time the guard looks: the first unknown guard is named.
  e.probe.nonblocking = -EBADF;
  e.probe.rcvtimeo = -EBADF;
  e.run(args_of(SYS_recvfrom, {4, 0, 10, 0}), {-EAGAIN, 10});
  EXPECT_EQ(e.last().reason, Reason::kGuardUnknown);
  EXPECT_EQ(e.last().guard, FTSC_SC_GUARD_NONBLOCK_FD);
  EXPECT_EQ(e.last().probe_error, -EBADF);

  // Not a protocol errno: no guard is asked, the retry goes ahead.
  EXPECT_EQ(e.run(args_of(SYS_recvfrom, {4, 0, 10, 0}), {-ECONNREFUSED, 10}), 10);
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);

  ftsc_stats_slot s = slot_of(*g.stats, SYS_recvfrom, EAGAIN);
  EXPECT_EQ(s.calls, 3u);
  EXPECT_EQ(s.passed, 3u);
  EXPECT_EQ(s.guard_unknown, 2u);
  EXPECT_EQ(s.retries, 0u);
  expect_consistent(s);
}

// A guard that becomes unknown after retries (the fd closed meanwhile) ends the
// call as given up, still counted under guard_unknown.
TEST(RetryUnit, GuardUnknownAfterRetriesGivesUp) {
  GuardCase g;
  ftsc_syscall& sc = g.policy->syscalls[SYS_read];
  sc.flags |= FTSC_SC_GUARD_NONBLOCK_FD;
  sc.fd_arg = 0;
  sc.protocol_errnos[0] = EAGAIN;
  set_cell(*g.policy, SYS_read, EIO, FTSC_RETRY);
  set_cell(*g.policy, SYS_read, EAGAIN, FTSC_RETRY);
  RetryUnit unit(*g.policy, g.stats.get());
  Engine e(unit);
  e.probe.nonblocking = -ENOENT;
  EXPECT_EQ(e.run(args_of(SYS_read, {3, 0, 1}), {-EIO, -EAGAIN, 1}), -EAGAIN);
  ASSERT_EQ(e.decisions.size(), 2u);
  EXPECT_EQ(e.decisions[1].reason, Reason::kGuardUnknown);
  ftsc_stats_slot s = slot_of(*g.stats, SYS_read, EIO);
  EXPECT_EQ(s.gave_up, 1u);
  EXPECT_EQ(s.guard_unknown, 1u);
  expect_consistent(s);
}

TEST(RetryUnit, EagainWithoutGuardsIsAnOrdinaryErrno) {
  GuardCase g;
  set_cell(*g.policy, SYS_clone, EAGAIN, FTSC_RETRY);
  RetryUnit unit(*g.policy, g.stats.get());
  Engine e(unit);
  EXPECT_EQ(e.run(args_of(SYS_clone), {-EAGAIN, 1234}), 1234);
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  EXPECT_EQ(e.probe.calls(), 0);
}

// --- observe, budget, deadline, jitter, signals --------------------------------

TEST(RetryUnit, ObserveModeDecidesAndCountsButNeverRetries) {
  auto p = make_policy();
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY);
  p->budget_window_ns = 1000 * kMs;
  p->budget_max_wait_ns = 1 * kMs;  // a retry would trip it; observe mode never charges it
  p->flags |= FTSC_POLICY_OBSERVE;
  auto stats = make_stats();
  {
    RetryUnit unit(*p, stats.get());
    EXPECT_TRUE(unit.observing());
    Engine e(unit);
    EXPECT_EQ(e.run(args_of(SYS_openat), {-ENOENT, 3}), -ENOENT);
    ASSERT_EQ(e.decisions.size(), 1u);
    EXPECT_EQ(e.last().action, Action::kReturn);
    EXPECT_EQ(e.last().reason, Reason::kObserve);
    EXPECT_EQ(e.last().delay_ns, 10 * kMs);
    EXPECT_FALSE(e.budget.tripped(e.now, p->budget_window_ns));
    // What would not be retried is reported as such, not as observe.
    EXPECT_EQ(e.run(args_of(SYS_openat), {-EACCES}), -EACCES);
    EXPECT_EQ(e.last().reason, Reason::kNoRule);
  }
  p->flags = 0;
  {
    RetryUnit unit(*p, stats.get(), RetryUnitOptions{.dry_run = true});
    EXPECT_TRUE(unit.observing());
    Engine e(unit);
    EXPECT_EQ(e.run(args_of(SYS_openat), {-ENOENT, 3}), -ENOENT);
    EXPECT_EQ(e.last().reason, Reason::kObserve);
  }
  ftsc_stats_slot s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.calls, 2u);
  EXPECT_EQ(s.would_retry, 2u);
  EXPECT_EQ(s.retries, 0u);
  EXPECT_EQ(s.wait_ns, 0u);
  EXPECT_EQ(stats->budget_trips, 0u);
  expect_consistent(s);
}

TEST(RetryUnit, BudgetTripsOnceAndResetsWithTheWindow) {
  auto p = make_policy();
  uint32_t sched = add_schedule(*p, {60, 60});
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY, sched);
  set_cell(*p, SYS_read, EIO, FTSC_RETRY, sched);
  p->budget_window_ns = 1000 * kMs;
  p->budget_max_wait_ns = 100 * kMs;
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  e.now = 10'000 * kMs;  // the start of a window

  // 60 ms fits; the next 60 ms would make 120 ms > 100 ms: the breaker trips.
  EXPECT_EQ(e.run(args_of(SYS_openat), {-ENOENT}), -ENOENT);
  ASSERT_EQ(e.decisions.size(), 2u);
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  EXPECT_EQ(e.decisions[1].reason, Reason::kBudget);
  EXPECT_EQ(e.decisions[1].delay_ns, 60 * kMs);
  EXPECT_TRUE(e.budget.tripped(e.now, p->budget_window_ns));
  EXPECT_EQ(stats->budget_trips, 1u);

  // Tripped: every failure of the process passes at once, even one whose delay would fit.
  EXPECT_EQ(e.run(args_of(SYS_read), {-EIO}), -EIO);
  ASSERT_EQ(e.decisions.size(), 1u);
  EXPECT_EQ(e.last().reason, Reason::kBudget);
  EXPECT_EQ(stats->budget_trips, 1u);  // one trip, however many failures it passes

  // The next window starts afresh.
  e.now = 11'000 * kMs;
  EXPECT_FALSE(e.budget.tripped(e.now, p->budget_window_ns));
  EXPECT_EQ(e.run(args_of(SYS_read), {-EIO, 5}), 5);
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  EXPECT_EQ(e.last().reason, Reason::kSuccess);

  ftsc_stats_slot s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.budget, 1u);
  EXPECT_EQ(s.gave_up, 0u);
  expect_consistent(s);
  ftsc_stats_slot r = slot_of(*stats, SYS_read, EIO);
  EXPECT_EQ(r.calls, 2u);
  EXPECT_EQ(r.budget, 1u);
  EXPECT_EQ(r.recovered, 1u);
  expect_consistent(r);

  // A second trip in a later window counts again.
  EXPECT_EQ(e.run(args_of(SYS_openat), {-ENOENT}), -ENOENT);
  EXPECT_EQ(e.last().reason, Reason::kBudget);
  EXPECT_EQ(stats->budget_trips, 2u);

  // Without a budget state (or with window 0) there is no breaker.
  CallState call;
  unit.begin_call(call, SYS_openat, nullptr, 0);
  FakeProbe probe;
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(unit.on_result(call, args_of(SYS_openat), -ENOENT, probe, e.now).action,
              Action::kRetry);
}

TEST(RetryUnit, BudgetChargesDirectly) {
  RetryBudget b;
  const uint64_t window = 1000 * kMs;
  EXPECT_EQ(b.charge(0, 400 * kMs, window, 1000 * kMs), RetryBudget::Charge::kOk);
  EXPECT_EQ(b.charge(1, 600 * kMs, window, 1000 * kMs), RetryBudget::Charge::kOk);  // exactly full
  EXPECT_EQ(b.charge(2, 1, window, 1000 * kMs), RetryBudget::Charge::kTripped);
  EXPECT_EQ(b.charge(3, 0, window, 1000 * kMs), RetryBudget::Charge::kRefused);
  EXPECT_TRUE(b.tripped(999 * kMs, window));
  EXPECT_FALSE(b.tripped(1000 * kMs, window));
  EXPECT_EQ(b.charge(1000 * kMs, 1000 * kMs, window, 1000 * kMs), RetryBudget::Charge::kOk);
  b.reset();
  EXPECT_FALSE(b.tripped(1000 * kMs, window));
  // A single delay above the budget trips it at once; window 0 disables the breaker.
  EXPECT_EQ(b.charge(0, 2000 * kMs, window, 1000 * kMs), RetryBudget::Charge::kTripped);
  EXPECT_EQ(b.charge(0, 2000 * kMs, 0, 0), RetryBudget::Charge::kOk);
  EXPECT_FALSE(b.tripped(0, 0));
}

TEST(RetryUnit, BudgetIsExactUnderConcurrency) {
  RetryBudget b;
  const uint64_t window = 1000 * kMs;
  std::atomic<int> ok{0}, tripped{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        switch (b.charge(5, kMs, window, 100 * kMs)) {
          case RetryBudget::Charge::kOk:
            ++ok;
            break;
          case RetryBudget::Charge::kTripped:
            ++tripped;
            break;
          case RetryBudget::Charge::kRefused:
            ++refused;
            break;
        }
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(tripped.load(), 1);
  EXPECT_EQ(refused.load(), 8000 - 101);
}

TEST(RetryUnit, DeadlineShortensTheLastWaitThenGivesUp) {
  auto p = make_policy();
  uint32_t sched = add_schedule(*p, {10, 50, 100}, 0, 55);
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY, sched);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  EXPECT_EQ(e.run(args_of(SYS_openat), {-ENOENT}), -ENOENT);
  ASSERT_EQ(e.decisions.size(), 3u);
  EXPECT_EQ(e.decisions[0].delay_ns, 10 * kMs);
  EXPECT_EQ(e.decisions[1].delay_ns, 45 * kMs);  // 50 ms would end after the deadline
  EXPECT_EQ(e.decisions[2].reason, Reason::kDeadline);
  EXPECT_EQ(e.now - kStart, 55 * kMs);  // the last retry started exactly at the deadline
  ftsc_stats_slot s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.gave_up, 1u);
  EXPECT_EQ(s.wait_ns, static_cast<uint64_t>(55 * kMs));
  expect_consistent(s);

  // Slow attempts count too: the deadline runs from the first failure, not from the waits.
  CallState call;
  unit.begin_call(call, SYS_openat, nullptr, 0);
  FakeProbe probe;
  Decision d = unit.on_result(call, args_of(SYS_openat), -ENOENT, probe, kStart);
  EXPECT_EQ(d.action, Action::kRetry);
  unit.on_waited(call, d.delay_ns);
  d = unit.on_result(call, args_of(SYS_openat), -ENOENT, probe, kStart + 80 * kMs);
  EXPECT_EQ(d.reason, Reason::kDeadline);
}

TEST(RetryUnit, JitterStaysInBoundsAndIsDeterministic) {
  auto p = make_policy();
  uint32_t sched = add_schedule(*p, {100, 100, 100, 100}, 200'000);  // +-20 %
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY, sched);
  RetryUnit unit(*p, nullptr);
  Engine e(unit);
  auto delays = [&](uint64_t seed) {
    e.run(args_of(SYS_openat), {-ENOENT}, seed);
    std::vector<int64_t> out;
    for (const Decision& d : e.decisions)
      if (d.action == Action::kRetry)
        out.push_back(d.delay_ns);
    return out;
  };
  int64_t lo = INT64_MAX, hi = 0;
  std::set<int64_t> distinct;
  for (uint64_t seed = 0; seed < 500; ++seed) {
    std::vector<int64_t> d = delays(seed);
    ASSERT_EQ(d.size(), 4u);
    EXPECT_EQ(d, delays(seed)) << "seed " << seed;
    for (int64_t v : d) {
      EXPECT_GE(v, 80 * kMs);
      EXPECT_LE(v, 120 * kMs);
      lo = std::min(lo, v);
      hi = std::max(hi, v);
      distinct.insert(v);
    }
  }
  // 2000 draws spread over the whole interval.
  EXPECT_LT(lo, 82 * kMs);
  EXPECT_GT(hi, 118 * kMs);
  EXPECT_GT(distinct.size(), 1900u);
  EXPECT_NE(delays(1), delays(2));

  // Full jitter (100 %) stays within [0, 2d].
  p->schedules[sched].jitter_ppm = 1'000'000;
  for (uint64_t seed = 0; seed < 200; ++seed)
    for (int64_t v : delays(seed)) {
      EXPECT_GE(v, 0);
      EXPECT_LE(v, 200 * kMs);
    }
}

TEST(RetryUnit, SignalEndsTheWaitWithTheLastError) {
  auto p = make_policy();
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY);
  set_cell(*p, SYS_openat, EIO, FTSC_RETRY);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  RetryBudget budget;
  FakeProbe probe;
  CallState call;
  unit.begin_call(call, SYS_openat, &budget, 0);
  Decision d = unit.on_result(call, args_of(SYS_openat), -ENOENT, probe, kStart);
  ASSERT_EQ(d.action, Action::kRetry);
  unit.on_waited(call, d.delay_ns);
  d = unit.on_result(call, args_of(SYS_openat), -EIO, probe, kStart + 10 * kMs);
  ASSERT_EQ(d.action, Action::kRetry);
  d = unit.on_interrupted(call, 3 * kMs);
  EXPECT_EQ(d.action, Action::kReturn);
  EXPECT_EQ(d.reason, Reason::kInterrupted);
  EXPECT_EQ(call.last_errno, EIO);  // what the program gets
  EXPECT_EQ(call.waited_ns, 13 * kMs);
  ftsc_stats_slot s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.attempts, 2u);
  EXPECT_EQ(s.retries, 1u);
  EXPECT_EQ(s.gave_up, 1u);
  EXPECT_EQ(s.interrupted, 1u);
  EXPECT_EQ(s.wait_ns, static_cast<uint64_t>(13 * kMs));
  expect_consistent(s);
}

// --- injection -------------------------------------------------------------------

void add_inject(ftsc_policy& p, long nr, int err, uint32_t first, uint32_t last, uint32_t step,
                double probability = 0, uint64_t seed = 0) {
  ftsc_inject& in = p.injects[p.n_injects++];
  in.nr = static_cast<uint16_t>(nr);
  in.error = static_cast<uint16_t>(err);
  in.first = first;
  in.last = last;
  in.step = step;
  in.seed = seed;
  if (probability > 0) {
    in.flags |= FTSC_INJ_PROBABILITY;
    in.p_scaled =
        probability >= 1 ? 0xffffffffu : static_cast<uint32_t>(probability * 4294967296.0);
  }
  p.syscalls[nr].flags |= FTSC_SC_INJECT;
}

TEST(RetryUnit, InjectionWhenOneToTwoRecoversOnTheThirdAttempt) {
  auto p = make_policy();
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY);
  add_inject(*p, SYS_openat, ENOENT, 1, 2, 1);
  ASSERT_EQ(ftsc_policy_validate(p.get(), sizeof(ftsc_policy)), FTSC_POLICY_OK);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  EXPECT_EQ(e.run(args_of(SYS_openat), {3}), 3);
  ASSERT_EQ(e.decisions.size(), 3u);
  EXPECT_EQ(e.decisions[0].reason, Reason::kRetry);
  EXPECT_EQ(e.decisions[1].reason, Reason::kRetry);
  EXPECT_EQ(e.decisions[2].reason, Reason::kSuccess);
  ftsc_stats_slot s = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(s.calls, 1u);
  EXPECT_EQ(s.attempts, 3u);
  EXPECT_EQ(s.retries, 2u);
  EXPECT_EQ(s.recovered, 1u);
  EXPECT_EQ(s.injected, 2u);
  expect_consistent(s);
  // Attempts 4, 5 ...: the plan is spent, the call runs for real.
  EXPECT_EQ(e.run(args_of(SYS_openat), {4}), 4);
  EXPECT_EQ(e.decisions.size(), 1u);
  // Syscalls without an injection are never injected.
  CallState call;
  unit.begin_call(call, SYS_read, nullptr, 0);
  EXPECT_EQ(unit.inject(call, 1), 0);
  EXPECT_EQ(unit.inject(call, 0), 0);
}

TEST(RetryUnit, InjectionStepAndOpenEnd) {
  auto p = make_policy();
  add_inject(*p, SYS_read, EIO, 3, UINT32_MAX, 2);  // when=3+2
  RetryUnit unit(*p, nullptr);
  CallState call;
  unit.begin_call(call, SYS_read, nullptr, 0);
  std::vector<uint64_t> fired;
  for (uint64_t a = 1; a <= 11; ++a)
    if (unit.inject(call, a) == EIO)
      fired.push_back(a);
  EXPECT_EQ(fired, (std::vector<uint64_t>{3, 5, 7, 9, 11}));
}

TEST(RetryUnit, InjectedFailuresWithoutARulePassAndAreCounted) {
  auto p = make_policy();
  add_inject(*p, SYS_openat, EIO, 1, 1, 1);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  EXPECT_EQ(e.run(args_of(SYS_openat), {3}), -EIO);
  EXPECT_EQ(e.last().reason, Reason::kNoRule);
  ftsc_stats_slot s = slot_of(*stats, SYS_openat, EIO);
  EXPECT_EQ(s.injected, 1u);
  EXPECT_EQ(s.passed, 1u);
  expect_consistent(s);
}

TEST(RetryUnit, ProbabilityInjectionIsReproducible) {
  auto fired = [](uint64_t seed) {
    auto p = make_policy();
    add_inject(*p, SYS_write, ENOSPC, 1, UINT32_MAX, 1, 0.25, seed);
    RetryUnit unit(*p, nullptr);
    AttemptCounters counters;
    CallState call;
    std::vector<uint64_t> out;
    for (int i = 0; i < 4000; ++i) {
      unit.begin_call(call, SYS_write, nullptr, 0);
      uint64_t attempt = counters.next(SYS_write);
      if (unit.inject(call, attempt) == ENOSPC)
        out.push_back(attempt);
    }
    return out;
  };
  std::vector<uint64_t> a = fired(42);
  EXPECT_EQ(a, fired(42));
  EXPECT_NE(a, fired(43));
  EXPECT_GT(a.size(), 800u);  // 25 % of 4000, give or take
  EXPECT_LT(a.size(), 1200u);
}

TEST(RetryUnit, AttemptCountersArePerSyscall) {
  AttemptCounters c;
  EXPECT_EQ(c.next(SYS_read), 1u);
  EXPECT_EQ(c.next(SYS_read), 2u);
  EXPECT_EQ(c.next(SYS_write), 1u);
  EXPECT_EQ(c.next(-1), 0u);
  EXPECT_EQ(c.next(FTSC_NR_LIMIT), 0u);
  c.reset();
  EXPECT_EQ(c.next(SYS_read), 1u);
}

// --- statistics from many threads ---------------------------------------------------

TEST(RetryUnit, ConcurrentAccountingAddsUpExactly) {
  auto p = make_policy();
  uint32_t fast = add_schedule(*p, {1, 2, 3});
  set_cell(*p, SYS_openat, ENOENT, FTSC_RETRY, fast);
  set_cell(*p, SYS_read, EIO, FTSC_RETRY, fast);
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  constexpr int kThreads = 8;
  constexpr int kRounds = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&unit] {
      Engine e(unit);
      for (int i = 0; i < kRounds; ++i) {
        e.run(args_of(SYS_openat), {-ENOENT, -ENOENT, 3});  // recovers after 2 retries
        e.run(args_of(SYS_read), {-EIO});                   // gives up after 3 retries
        e.run(args_of(SYS_write), {-ENOSPC});               // no rule
      }
    });
  for (auto& t : threads)
    t.join();
  const uint64_t n = kThreads * kRounds;
  ftsc_stats_slot o = slot_of(*stats, SYS_openat, ENOENT);
  EXPECT_EQ(o.calls, n);
  EXPECT_EQ(o.attempts, 3 * n);
  EXPECT_EQ(o.retries, 2 * n);
  EXPECT_EQ(o.recovered, n);
  EXPECT_EQ(o.wait_ns, n * static_cast<uint64_t>(3 * kMs));
  expect_consistent(o);
  ftsc_stats_slot r = slot_of(*stats, SYS_read, EIO);
  EXPECT_EQ(r.calls, n);
  EXPECT_EQ(r.attempts, 4 * n);
  EXPECT_EQ(r.gave_up, n);
  EXPECT_EQ(r.wait_ns, n * static_cast<uint64_t>(6 * kMs));
  expect_consistent(r);
  ftsc_stats_slot w = slot_of(*stats, SYS_write, ENOSPC);
  EXPECT_EQ(w.calls, n);
  EXPECT_EQ(w.passed, n);
  EXPECT_EQ(used_slots(*stats), 3);
  EXPECT_EQ(stats->dropped, 0u);
}

TEST(RetryUnit, ConcurrentSlotClaimsAreUnique) {
  auto p = make_policy();
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&unit] {
      Engine e(unit);
      for (int nr = 0; nr < 100; ++nr)
        for (int err = 1; err <= 5; ++err)
          e.run(args_of(nr), {-err});
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(used_slots(*stats), 500);
  for (int nr = 0; nr < 100; ++nr)
    for (int err = 1; err <= 5; ++err)
      EXPECT_EQ(slot_of(*stats, nr, err).calls, 8u);
}

TEST(RetryUnit, FullStatsTableDropsOncePerCall) {
  auto p = make_policy();
  auto stats = make_stats();
  RetryUnit unit(*p, stats.get());
  Engine e(unit);
  for (int i = 0; i < static_cast<int>(FTSC_STATS_SLOTS); ++i)
    e.run(args_of(i / 4), {-(i % 4 + 1)});
  EXPECT_EQ(used_slots(*stats), static_cast<int>(FTSC_STATS_SLOTS));
  EXPECT_EQ(stats->dropped, 0u);
  set_cell(*p, 300, EIO, FTSC_RETRY);
  e.run(args_of(300), {-EIO});  // four attempts, one call
  EXPECT_EQ(stats->dropped, 1u);
}

TEST(RetryUnit, EveryReasonHasAStableNameAndASentence) {
  std::set<std::string> names;
  for (int i = 0; i < kReasonCount; ++i) {
    auto r = static_cast<Reason>(i);
    std::string name = reason_name(r);
    EXPECT_NE(name, "unknown");
    EXPECT_EQ(name.find(' '), std::string::npos) << name;
    EXPECT_GT(std::string(reason_text(r)).size(), 20u) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), static_cast<size_t>(kReasonCount));
  EXPECT_STREQ(reason_name(Reason::kBudget), "budget");
  EXPECT_STREQ(reason_name(Reason::kNoRule), "no_rule");
}

TEST(RetryUnit, BrokenScheduleIndexNeverReadsOutOfBounds) {
  auto p = make_policy();
  p->cells[SYS_openat][ENOENT] = FTSC_CELL_MAKE(FTSC_RETRY, 40);  // only 1 schedule exists
  p->schedules[0].n_delays = 1000;                                // more than FTSC_DELAYS_MAX
  set_cell(*p, SYS_read, EIO, FTSC_RETRY);
  RetryUnit unit(*p, nullptr);
  Engine e(unit);
  e.run(args_of(SYS_openat), {-ENOENT});
  EXPECT_EQ(e.last().reason, Reason::kScheduleExhausted);
  e.run(args_of(SYS_read), {-EIO});
  EXPECT_EQ(e.decisions.size(), FTSC_DELAYS_MAX + 1);
}

}  // namespace
}  // namespace ftsc::decide
