// The kernel engine decides with kmod/ftsc_decide.c, a C twin of the
// userspace retry unit (core/retry_unit.*). This suite builds that C file in
// userspace and runs it side by side with the C++ unit on random policies
// (schedules with jitter and deadlines, guards, never-retried syscalls,
// injections, budgets, observe mode) and random call histories (successes,
// errnos, restart codes, program bugs, signals ending waits, a clock that
// moves), and requires the same decision at every step and, at the end,
// byte-identical statistics tables.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/retry_unit.h"

extern "C" {
#include "ftsc_decide.h"
}

namespace {

using ftsc::core::Action;
using ftsc::core::AttemptCounters;
using ftsc::core::CallState;
using ftsc::core::Decision;
using ftsc::core::GuardProbe;
using ftsc::core::RetryBudget;
using ftsc::core::RetryUnit;
using ftsc::core::SyscallArgs;

// The syscalls and errnos the random policies use (a few, so that they meet).
constexpr long kSyscalls[] = {0, 1, 9, 42, 257, 3 /* never retried */, 600 /* out of range */};
constexpr int kErrnos[] = {EAGAIN, ENOENT, ENOMEM, EINTR, EIO, ETIMEDOUT, EFAULT, EBADF, 512, 516};

// Run-time guard facts as a pure function of the fd, for both sides.
bool fd_nonblocking_fact(int fd) {
  return fd % 3 == 0;
}
bool socket_timeout_fact(int fd, bool send) {
  return (fd % 5 == 0) != send;
}

class FactProbe : public GuardProbe {
 public:
  bool fd_nonblocking(int fd) override { return fd_nonblocking_fact(fd); }
  bool socket_timeout(int fd, bool send) override { return socket_timeout_fact(fd, send); }
};

bool c_fd_nonblocking(void*, int fd) {
  return fd_nonblocking_fact(fd);
}
bool c_socket_timeout(void*, int fd, bool send) {
  return socket_timeout_fact(fd, send);
}

std::unique_ptr<ftsc_policy> random_policy(std::mt19937_64& rng) {
  auto p = std::make_unique<ftsc_policy>();
  std::memset(p.get(), 0, sizeof *p);
  p->magic = FTSC_POLICY_MAGIC;
  p->version = FTSC_POLICY_VERSION;
  p->size = sizeof *p;
  auto pick = [&](uint64_t n) { return rng() % n; };
  if (pick(4) == 0)
    p->flags |= FTSC_POLICY_OBSERVE;
  if (pick(3) != 0) {
    p->budget_window_ns = (1 + pick(20)) * 100'000'000ull;
    p->budget_max_wait_ns = pick(p->budget_window_ns / 10'000'000 + 1) * 10'000'000;
  }
  p->n_schedules = static_cast<uint32_t>(1 + pick(4));
  for (uint32_t s = 0; s < p->n_schedules; ++s) {
    ftsc_schedule& sc = p->schedules[s];
    sc.n_delays = static_cast<uint32_t>(pick(6));
    sc.jitter_ppm = pick(2) ? static_cast<uint32_t>(pick(1'000'001)) : 0;
    // Times in steps of 10 ms, so that boundaries (a deadline reached
    // exactly, a budget spent exactly) come up.
    sc.deadline_ns = pick(3) == 0 ? pick(40) * 10'000'000 : 0;
    for (uint32_t d = 0; d < FTSC_DELAYS_MAX; ++d)
      sc.delay_ns[d] = pick(20) * 10'000'000;
  }
  for (ftsc_syscall& sc : p->syscalls) {
    sc.fd_arg = sc.flags_arg = sc.timeout_arg = FTSC_ARG_NONE;
    sc.nonblock_cmds[0] = sc.nonblock_cmds[1] = -1;
  }
  for (long nr : kSyscalls) {
    if (nr >= static_cast<long>(FTSC_NR_LIMIT))
      continue;
    ftsc_syscall& sc = p->syscalls[nr];
    sc.flags = static_cast<uint16_t>(pick(1u << 10) & ~3u & FTSC_SC_GUARDS);
    if (nr == 3)
      sc.flags |= FTSC_SC_NEVER_RETRY;
    sc.fd_arg = pick(3) ? static_cast<uint8_t>(pick(6)) : FTSC_ARG_NONE;
    sc.flags_arg = pick(3) ? static_cast<uint8_t>(pick(6)) : FTSC_ARG_NONE;
    sc.timeout_arg = pick(3) ? static_cast<uint8_t>(pick(6)) : FTSC_ARG_NONE;
    sc.nonblock_mask = pick(2) ? 0x800 : 0x40;
    sc.nonblock_cmds[0] = pick(2) ? 6 : -1;
    sc.protocol_errnos[0] = EAGAIN;
    sc.protocol_errnos[1] = pick(2) ? ETIMEDOUT : 0;
    for (int err : kErrnos) {
      if (err >= static_cast<int>(FTSC_ERRNO_LIMIT))
        continue;
      const unsigned decision = static_cast<unsigned>(pick(4));
      const unsigned schedule = static_cast<unsigned>(pick(p->n_schedules));
      p->cells[nr][err] = FTSC_CELL_MAKE(decision, decision == FTSC_RETRY ? schedule : 0u);
      if (decision == FTSC_RETRY)
        sc.flags |= FTSC_SC_IN_POLICY;
    }
  }
  p->n_injects = static_cast<uint32_t>(pick(3));
  for (uint32_t i = 0; i < p->n_injects; ++i) {
    ftsc_inject& in = p->injects[i];
    in.nr = static_cast<uint16_t>(kSyscalls[pick(5)]);
    in.error = static_cast<uint16_t>(pick(2) ? ENOENT : EIO);
    in.first = static_cast<uint32_t>(1 + pick(4));
    in.last = pick(2) ? in.first + static_cast<uint32_t>(pick(5)) : UINT32_MAX;
    in.step = static_cast<uint32_t>(1 + pick(2));
    if (pick(2)) {
      in.flags = FTSC_INJ_PROBABILITY;
      in.p_scaled = static_cast<uint32_t>(rng());
      in.seed = rng();
    }
    p->syscalls[in.nr].flags |= FTSC_SC_INJECT;
  }
  EXPECT_EQ(ftsc_policy_validate(p.get(), sizeof *p), FTSC_POLICY_OK);
  return p;
}

TEST(KmodDecideConformance, SameDecisionsAndStatisticsAsTheRetryUnit) {
  std::mt19937_64 rng(20250101);
  FactProbe probe;
  const ftsc_probe c_probe = {c_fd_nonblocking, c_socket_timeout, nullptr};
  int compared = 0;
  for (int round = 0; round < 300; ++round) {
    SCOPED_TRACE(::testing::Message() << "policy " << round);
    auto policy = random_policy(rng);
    auto cpp_stats = std::make_unique<ftsc_stats>();
    auto c_stats = std::make_unique<ftsc_stats>();
    ftsc_stats_init(cpp_stats.get());
    ftsc_stats_init(c_stats.get());
    const RetryUnit unit(*policy, cpp_stats.get());
    const ftsc_decide_ctx ctx = {policy.get(), c_stats.get(),
                                 (policy->flags & FTSC_POLICY_OBSERVE) != 0};
    // Two processes: a budget and attempt counters each.
    RetryBudget cpp_budget[2];
    uint64_t c_budget[2] = {0, 0};
    AttemptCounters cpp_attempts[2];
    std::vector<uint64_t> c_attempts[2] = {std::vector<uint64_t>(FTSC_NR_LIMIT, 0),
                                           std::vector<uint64_t>(FTSC_NR_LIMIT, 0)};
    int64_t now = static_cast<int64_t>(rng() % 100'000) * 10'000'000;

    for (int c = 0; c < 60; ++c) {
      const int proc = static_cast<int>(rng() % 2);
      const long nr = kSyscalls[rng() % std::size(kSyscalls)];
      const uint64_t seed = rng();
      SyscallArgs args;
      args.nr = nr;
      for (uint64_t& a : args.args)
        a = rng() % 4 == 0 ? 0 : rng() % 64;
      if (rng() % 3 == 0)
        args.args[rng() % 6] |= 0x800;
      CallState cpp_call;
      ftsc_call c_call;
      unit.begin_call(cpp_call, nr, &cpp_budget[proc], seed);
      ftsc_call_begin(&c_call, nr, &c_budget[proc], seed);
      for (int attempt = 0; attempt < 40; ++attempt) {
        uint64_t n_cpp = cpp_attempts[proc].next(nr);
        uint64_t n_c = nr >= 0 && nr < static_cast<long>(FTSC_NR_LIMIT)
                           ? ++c_attempts[proc][static_cast<size_t>(nr)]
                           : 0;
        ASSERT_EQ(n_cpp, n_c);
        const int inj_cpp = unit.inject(cpp_call, n_cpp);
        const int inj_c = ftsc_call_inject(policy.get(), &c_call, n_c);
        ASSERT_EQ(inj_cpp, inj_c);
        long result;
        if (inj_cpp != 0)
          result = -inj_cpp;
        else if (rng() % 4 == 0)
          result = static_cast<long>(rng() % 100);
        else
          result = -kErrnos[rng() % std::size(kErrnos)];
        now += static_cast<int64_t>(rng() % 5) * 10'000'000;
        const Decision d = unit.on_result(cpp_call, args, result, probe, now);
        const ftsc_verdict v = ftsc_call_result(&ctx, &c_call, args.args, result, &c_probe, now);
        ++compared;
        ASSERT_EQ(d.action == Action::kRetry, v.retry) << "attempt " << attempt;
        ASSERT_EQ(static_cast<int>(d.reason), v.reason) << "attempt " << attempt;
        ASSERT_EQ(d.delay_ns, v.delay_ns);
        ASSERT_EQ(d.guard, v.guard);
        if (d.action != Action::kRetry)
          break;
        // The wait: sometimes a signal ends it early.
        const int64_t waited =
            rng() % 5 == 0 ? static_cast<int64_t>(rng() % (d.delay_ns + 1)) : d.delay_ns;
        now += waited;
        if (rng() % 7 == 0) {
          const Decision di = unit.on_interrupted(cpp_call, waited);
          const ftsc_verdict vi = ftsc_call_interrupted(&ctx, &c_call, waited);
          ASSERT_EQ(static_cast<int>(di.reason), vi.reason);
          break;
        }
        unit.on_waited(cpp_call, waited);
        ftsc_call_waited(&ctx, &c_call, waited);
      }
      ASSERT_EQ(cpp_call.retries, c_call.retries);
      ASSERT_EQ(cpp_call.last_errno, c_call.last_errno);
      ASSERT_EQ(cpp_call.waited_ns, c_call.waited_ns);
    }
    ASSERT_EQ(std::memcmp(cpp_stats.get(), c_stats.get(), sizeof(ftsc_stats)), 0)
        << "the statistics tables differ";
  }
  EXPECT_GT(compared, 10000);
}

// The budget word: the same answers as core's RetryBudget, charge by charge.
TEST(KmodDecideConformance, BudgetChargesMatch) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    RetryBudget cpp;
    uint64_t word = 0;
    const uint64_t window = rng() % 3 == 0 ? 0 : (1 + rng() % 10) * 1'000'000'000ull;
    // Steps of 100 ms and zero delays, so that a budget is spent exactly.
    const uint64_t max_wait = window ? rng() % (window / 100'000'000 + 1) * 100'000'000 : 0;
    int64_t now = static_cast<int64_t>(rng() % 1000) * 100'000'000;
    for (int i = 0; i < 200; ++i) {
      now += static_cast<int64_t>(rng() % 3) * 100'000'000;
      const int64_t delay = static_cast<int64_t>(rng() % 5) * 100'000'000;
      const auto a = cpp.charge(now, delay, window, max_wait);
      const auto b = ftsc_budget_charge(&word, now, delay, window, max_wait);
      ASSERT_EQ(static_cast<int>(a), static_cast<int>(b)) << "round " << round << " charge " << i;
    }
  }
}

}  // namespace
