// SPDX-License-Identifier: Apache-2.0
// The retry unit in the contexts engines call it from: a signal handler, and
// a path that must not allocate. Real signals, real operator new.
#include <signal.h>
#include <sys/syscall.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

#include <gtest/gtest.h>

#include "decide/retry_unit.h"

// Counts allocations while `g_counting` is set; everything else is the
// ordinary allocator. Not under AddressSanitizer, whose own operator new
// family must stay whole (the test skips there).
#if defined(__SANITIZE_ADDRESS__)
#define FTSC_COUNTS_ALLOCATIONS 0
#else
#define FTSC_COUNTS_ALLOCATIONS 1
#endif
static std::atomic<bool> g_counting{false};
static std::atomic<int> g_allocations{0};

#if FTSC_COUNTS_ALLOCATIONS
// g++ sees operator delete's free() behind `delete` and warns about a
// mismatch that this replacement makes deliberate.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (g_counting.load(std::memory_order_relaxed))
    g_allocations.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n))
    return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (g_counting.load(std::memory_order_relaxed))
    g_allocations.fetch_add(1);
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
#endif

namespace ftsc::decide {
namespace {

constexpr int64_t kMs = 1'000'000;

class NoProbe : public GuardProbe {
 public:
  int fd_nonblocking(int) override { return kClear; }
  int socket_timeout(int, bool) override { return kClear; }
};

// A policy retrying openat ENOENT with the paper's schedule, and its stats.
struct Fixture {
  ftsc_policy policy{};
  ftsc_stats stats{};
  Fixture() {
    policy.magic = FTSC_POLICY_MAGIC;
    policy.version = FTSC_POLICY_VERSION;
    policy.size = sizeof policy;
    for (ftsc_syscall& sc : policy.syscalls) {
      sc.fd_arg = sc.flags_arg = sc.timeout_arg = FTSC_ARG_NONE;
      sc.nonblock_cmds[0] = sc.nonblock_cmds[1] = -1;
    }
    policy.n_schedules = 1;
    policy.schedules[0].n_delays = 3;
    policy.schedules[0].delay_ns[0] = 10 * kMs;
    policy.schedules[0].delay_ns[1] = 50 * kMs;
    policy.schedules[0].delay_ns[2] = 100 * kMs;
    policy.cells[SYS_openat][ENOENT] = FTSC_CELL_MAKE(FTSC_RETRY, 0);
    policy.syscalls[SYS_openat].flags = FTSC_SC_IN_POLICY;
    ftsc_stats_init(&stats);
  }
};

// One call that fails twice, then succeeds: the decisions an engine gets.
struct Trace {
  Action first, second, third;
  int64_t first_delay, second_delay;
};

Trace run_call(Fixture& f, RetryBudget* budget) {
  RetryUnit unit(f.policy, &f.stats);
  NoProbe probe;
  CallState call;
  SyscallArgs args;
  args.nr = SYS_openat;
  unit.begin_call(call, SYS_openat, budget, 42);
  Decision a = unit.on_result(call, args, -ENOENT, probe, 1000 * kMs);
  unit.on_waited(call, a.delay_ns);
  Decision b = unit.on_result(call, args, -ENOENT, probe, 1011 * kMs);
  unit.on_waited(call, b.delay_ns);
  Decision c = unit.on_result(call, args, 3, probe, 1062 * kMs);
  return Trace{a.action, b.action, c.action, a.delay_ns, b.delay_ns};
}

Fixture* g_fixture;
RetryBudget* g_budget;
Trace g_trace;
volatile sig_atomic_t g_handled;

void handler(int) {
  g_trace = run_call(*g_fixture, g_budget);
  g_handled = 1;
}

TEST(RetryUnitContext, WorksInsideASignalHandler) {
  static Fixture fixture;
  static RetryBudget budget;
  g_fixture = &fixture;
  g_budget = &budget;
  struct sigaction sa {
  }, old{};
  sa.sa_handler = handler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR1, &sa, &old), 0);
  g_handled = 0;
  ASSERT_EQ(raise(SIGUSR1), 0);  // the handler has run when raise returns
  sigaction(SIGUSR1, &old, nullptr);
  ASSERT_EQ(g_handled, 1);
  EXPECT_EQ(g_trace.first, Action::kRetry);
  EXPECT_EQ(g_trace.first_delay, 10 * kMs);
  EXPECT_EQ(g_trace.second, Action::kRetry);
  EXPECT_EQ(g_trace.second_delay, 50 * kMs);
  EXPECT_EQ(g_trace.third, Action::kReturn);
  const ftsc_stats_slot* s = ftsc_stats_slot_for(&fixture.stats, SYS_openat, ENOENT);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->calls, 1u);
  EXPECT_EQ(s->retries, 2u);
  EXPECT_EQ(s->recovered, 1u);
}

TEST(RetryUnitContext, AllocatesNothing) {
  if (!FTSC_COUNTS_ALLOCATIONS)
    GTEST_SKIP() << "allocations are not counted under AddressSanitizer";
  static Fixture fixture;
  static RetryBudget budget;
  g_allocations = 0;
  g_counting = true;
  Trace t = run_call(fixture, &budget);
  g_counting = false;
  EXPECT_EQ(g_allocations.load(), 0);
  EXPECT_EQ(t.third, Action::kReturn);
  // The counter itself works: an allocation while counting is seen.
  g_counting = true;
  int* p = new int(7);
  g_counting = false;
  delete p;
  EXPECT_EQ(g_allocations.load(), 1);
}

}  // namespace
}  // namespace ftsc::decide
