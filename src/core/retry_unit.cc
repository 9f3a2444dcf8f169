#include "core/retry_unit.h"

#include <cerrno>

namespace ftsc::core {
namespace {

// RetryBudget's state word: window number | tripped | waited microseconds.
constexpr unsigned kSpentBits = 39;
constexpr uint64_t kSpentMask = (uint64_t{1} << kSpentBits) - 1;
constexpr uint64_t kTrippedBit = uint64_t{1} << kSpentBits;
constexpr unsigned kWindowShift = kSpentBits + 1;
constexpr uint64_t kWindowMask = (uint64_t{1} << (64 - kWindowShift)) - 1;

uint64_t window_number(int64_t now_ns, uint64_t window_ns) {
  uint64_t now = now_ns < 0 ? 0 : static_cast<uint64_t>(now_ns);
  return (now / window_ns) & kWindowMask;
}

// Delays are clamped so that a jittered delay (at most twice this) and
// now + delay stay within int64_t.
constexpr uint64_t kMaxDelayNs = static_cast<uint64_t>(INT64_MAX) / 4;

Decision give_back(Reason r) {
  return Decision{Action::kReturn, r, 0, 0};
}

// The FTSC_SC_GUARD_* bit that makes this failure the program's own protocol,
// or 0. Cheap argument checks first; the probe (a syscall or a /proc read in
// the engine) only when they did not decide.
uint16_t protocol_guard(const ftsc_syscall& sc, const SyscallArgs& a, GuardProbe& probe) {
  const unsigned f = sc.flags;
  if (f & FTSC_SC_GUARD_ALWAYS)
    return FTSC_SC_GUARD_ALWAYS;
  if (sc.flags_arg < 6) {
    const uint64_t flags = a.args[sc.flags_arg];
    if ((f & FTSC_SC_GUARD_NONBLOCK_FLAGS) && (flags & sc.nonblock_mask) != 0)
      return FTSC_SC_GUARD_NONBLOCK_FLAGS;
    if (f & FTSC_SC_GUARD_NONBLOCK_CMD) {
      // Commands are C ints: compare the low 32 bits, as the kernel does.
      const auto cmd = static_cast<int32_t>(static_cast<uint32_t>(flags));
      for (int32_t c : sc.nonblock_cmds)
        if (c != -1 && c == cmd)
          return FTSC_SC_GUARD_NONBLOCK_CMD;
    }
  }
  if ((f & FTSC_SC_GUARD_TIMEOUT_ARG) && sc.timeout_arg < 6 && a.args[sc.timeout_arg] != 0)
    return FTSC_SC_GUARD_TIMEOUT_ARG;
  if (sc.fd_arg < 6) {
    const auto fd = static_cast<int>(static_cast<uint32_t>(a.args[sc.fd_arg]));
    if ((f & FTSC_SC_GUARD_NONBLOCK_FD) && probe.fd_nonblocking(fd))
      return FTSC_SC_GUARD_NONBLOCK_FD;
    if ((f & FTSC_SC_GUARD_SOCK_RCVTIMEO) && probe.socket_timeout(fd, false))
      return FTSC_SC_GUARD_SOCK_RCVTIMEO;
    if ((f & FTSC_SC_GUARD_SOCK_SNDTIMEO) && probe.socket_timeout(fd, true))
      return FTSC_SC_GUARD_SOCK_SNDTIMEO;
  }
  return 0;
}

}  // namespace

const char* reason_name(Reason r) {
  switch (r) {
    case Reason::kSuccess:
      return "success";
    case Reason::kRetry:
      return "retry";
    case Reason::kRestartCode:
      return "restart_code";
    case Reason::kNeverRetrySyscall:
      return "never_retry_syscall";
    case Reason::kProgramBug:
      return "program_bug";
    case Reason::kNoRule:
      return "no_rule";
    case Reason::kPolicyNever:
      return "policy_never";
    case Reason::kUndecided:
      return "undecided";
    case Reason::kProtocol:
      return "protocol";
    case Reason::kObserve:
      return "observe";
    case Reason::kBudget:
      return "budget";
    case Reason::kScheduleExhausted:
      return "schedule_exhausted";
    case Reason::kDeadline:
      return "deadline";
    case Reason::kInterrupted:
      return "interrupted";
  }
  return "unknown";
}

const char* reason_text(Reason r) {
  switch (r) {
    case Reason::kSuccess:
      return "the call succeeded; its result goes to the program unchanged";
    case Reason::kRetry:
      return "the policy retries this errno for this syscall: ftsc waits the next delay of the "
             "rule's schedule, then re-executes the call with its original arguments";
    case Reason::kRestartCode:
      return "a kernel-internal restart code (ERESTARTSYS and the like) that the program never "
             "sees: the kernel restarts the call or turns it into EINTR, so ftsc leaves it alone";
    case Reason::kNeverRetrySyscall:
      return "this syscall is never retried: close releases the fd even when it fails, and "
             "exit, exit_group, rt_sigreturn and restart_syscall must not run twice";
    case Reason::kProgramBug:
      return "EFAULT, EBADF and ENOSYS are program bugs, never transient faults: they are never "
             "retried, whatever the policy says";
    case Reason::kNoRule:
      return "no rule covers this syscall and errno, so the error goes to the program at once";
    case Reason::kPolicyNever:
      return "a rule says never to retry this syscall on this errno";
    case Reason::kUndecided:
      return "the policy leaves this syscall and errno undecided ('?'), which is never retried; "
             "decide the cell to change that";
    case Reason::kProtocol:
      return "this errno is the program's own protocol, not a fault (a non-blocking call that "
             "would block, or a timed wait that timed out), so it goes to the program at once";
    case Reason::kObserve:
      return "observe mode (or --dry-run): the call would have been retried; ftsc counts it as "
             "would_retry and returns the error at once";
    case Reason::kBudget:
      return "the process has spent its retry budget for this window (circuit breaker): "
             "failures go to the program at once until the window ends";
    case Reason::kScheduleExhausted:
      return "the rule's backoff schedule has no delay left: the program gets the last error";
    case Reason::kDeadline:
      return "the rule's deadline since the first failure has passed: the program gets the "
             "last error";
    case Reason::kInterrupted:
      return "a pending signal ended the wait: the program gets the last error at once, so "
             "that its signal handling is never delayed";
  }
  return "unknown reason";
}

// The word is only ever read and replaced as a whole and publishes no other
// memory, so relaxed ordering is enough.
RetryBudget::Charge RetryBudget::charge(int64_t now_ns, int64_t delay_ns, uint64_t window_ns,
                                        uint64_t max_wait_ns) {
  if (window_ns == 0)
    return Charge::kOk;
  const uint64_t window = window_number(now_ns, window_ns);
  const uint64_t delay = delay_ns < 0 ? 0 : static_cast<uint64_t>(delay_ns);
  uint64_t need_us = delay / 1000 + (delay % 1000 != 0 ? 1 : 0);
  if (need_us > kSpentMask)
    need_us = kSpentMask;
  uint64_t max_us = max_wait_ns / 1000;
  if (max_us > kSpentMask)
    max_us = kSpentMask;

  uint64_t old = state_.load(std::memory_order_relaxed);
  for (;;) {
    const bool same_window = (old >> kWindowShift) == window;
    if (same_window && (old & kTrippedBit))
      return Charge::kRefused;
    const uint64_t spent = same_window ? (old & kSpentMask) : 0;
    const bool fits = spent <= max_us && need_us <= max_us - spent;
    const uint64_t desired =
        (window << kWindowShift) | (fits ? spent + need_us : spent | kTrippedBit);
    if (state_.compare_exchange_weak(old, desired, std::memory_order_relaxed))
      return fits ? Charge::kOk : Charge::kTripped;
  }
}

bool RetryBudget::tripped(int64_t now_ns, uint64_t window_ns) const {
  if (window_ns == 0)
    return false;
  const uint64_t s = state_.load(std::memory_order_relaxed);
  return (s >> kWindowShift) == window_number(now_ns, window_ns) && (s & kTrippedBit) != 0;
}

void RetryUnit::begin_call(CallState& call, long nr, RetryBudget* budget, uint64_t seed) const {
  call = CallState{};
  call.nr = nr;
  call.budget = budget;
  call.rng = seed;
}

int RetryUnit::inject(CallState& call, uint64_t attempt) const {
  call.pending_inject = 0;
  if (attempt == 0)
    return 0;
  const int err = ftsc_policy_inject(&policy_, call.nr, attempt);
  if (err <= 0 || err > kMaxErrno)
    return 0;
  call.pending_inject = err;
  return err;
}

Decision RetryUnit::on_result(CallState& call, const SyscallArgs& args, long result,
                              GuardProbe& probe, int64_t now_ns) const {
  const bool injected = call.pending_inject != 0;
  call.pending_inject = 0;
  ++call.attempts;
  const bool failed = result < 0 && result >= -kMaxErrno;
  const int err = failed ? static_cast<int>(-result) : 0;

  if (!failed || err >= kFirstKernelInternalErrno) {
    // A success, or a restart code the program never sees. Only a call that
    // failed before has anything to count: this attempt was a retry.
    if (call.first_errno != 0 && call.slot != nullptr) {
      ftsc_stats_add(&call.slot->attempts, 1);
      ftsc_stats_add(&call.slot->retries, 1);
    }
    const Reason reason = failed ? Reason::kRestartCode : Reason::kSuccess;
    if (call.first_errno != 0)
      count_end(call, reason);
    return give_back(reason);
  }

  if (call.first_errno == 0) {
    call.first_errno = err;
    call.first_failure_ns = now_ns;
    if (stats_ != nullptr && call.nr >= 0) {
      call.slot = ftsc_stats_slot_for(stats_, call.nr, err);
      if (call.slot != nullptr)
        ftsc_stats_add(&call.slot->calls, 1);
    }
  } else if (call.slot != nullptr) {
    ftsc_stats_add(&call.slot->retries, 1);
  }
  if (call.slot != nullptr) {
    ftsc_stats_add(&call.slot->attempts, 1);
    if (injected)
      ftsc_stats_add(&call.slot->injected, 1);
  }
  call.last_errno = err;

  Decision d = decide_failure(call, args, err, probe, now_ns);
  if (d.action == Action::kRetry)
    ++call.retries;
  else
    count_end(call, d.reason);
  return d;
}

Decision RetryUnit::decide_failure(CallState& call, const SyscallArgs& args, int err,
                                   GuardProbe& probe, int64_t now_ns) const {
  const long nr = call.nr;
  const bool known_nr = nr >= 0 && static_cast<unsigned long>(nr) < FTSC_NR_LIMIT;
  const ftsc_syscall* sc = known_nr ? &policy_.syscalls[nr] : nullptr;

  if (sc != nullptr && (sc->flags & FTSC_SC_NEVER_RETRY))
    return give_back(Reason::kNeverRetrySyscall);
  if (ftsc_is_program_bug_errno(err))
    return give_back(Reason::kProgramBug);

  const uint8_t cell = ftsc_policy_cell(&policy_, nr, err);
  switch (FTSC_CELL_DECISION(cell)) {
    case FTSC_UNSET:
      return give_back(Reason::kNoRule);
    case FTSC_NEVER:
      return give_back(Reason::kPolicyNever);
    case FTSC_UNDECIDED:
      return give_back(Reason::kUndecided);
    default:
      break;
  }

  if (sc != nullptr && ftsc_is_protocol_errno(sc, err)) {
    const uint16_t guard = protocol_guard(*sc, args, probe);
    if (guard != 0)
      return Decision{Action::kReturn, Reason::kProtocol, 0, guard};
  }

  const unsigned index = FTSC_CELL_SCHEDULE(cell);
  if (index >= policy_.n_schedules || index >= FTSC_SCHEDULES_MAX)
    return give_back(Reason::kScheduleExhausted);
  const ftsc_schedule& s = policy_.schedules[index];
  const uint32_t n_delays = s.n_delays < FTSC_DELAYS_MAX ? s.n_delays : FTSC_DELAYS_MAX;
  if (call.retries >= n_delays)
    return give_back(Reason::kScheduleExhausted);

  const int64_t elapsed = now_ns > call.first_failure_ns ? now_ns - call.first_failure_ns : 0;
  int64_t remaining = INT64_MAX;
  if (s.deadline_ns != 0) {
    const uint64_t deadline = s.deadline_ns < kMaxDelayNs ? s.deadline_ns : kMaxDelayNs;
    if (static_cast<uint64_t>(elapsed) >= deadline)
      return give_back(Reason::kDeadline);
    remaining = static_cast<int64_t>(deadline) - elapsed;
  }
  int64_t delay = next_delay(call, s);
  if (delay > remaining)
    delay = remaining;

  if (observing())
    return Decision{Action::kReturn, Reason::kObserve, delay, 0};

  if (call.budget != nullptr) {
    const RetryBudget::Charge c =
        call.budget->charge(now_ns, delay, policy_.budget_window_ns, policy_.budget_max_wait_ns);
    if (c == RetryBudget::Charge::kTripped && stats_ != nullptr)
      ftsc_stats_add(&stats_->budget_trips, 1);
    if (c != RetryBudget::Charge::kOk)
      return Decision{Action::kReturn, Reason::kBudget, delay, 0};
  }
  return Decision{Action::kRetry, Reason::kRetry, delay, 0};
}

// Delay number call.retries of s, jittered: uniform in [d*(1-j), d*(1+j)].
int64_t RetryUnit::next_delay(CallState& call, const ftsc_schedule& s) const {
  uint64_t d = s.delay_ns[call.retries];
  if (d > kMaxDelayNs)
    d = kMaxDelayNs;
  const uint64_t ppm = s.jitter_ppm < 1000000u ? s.jitter_ppm : 1000000u;
  if (ppm != 0 && d != 0) {
    // d * ppm / 10^6 without overflowing 64 bits.
    const uint64_t span = d / 1000000u * ppm + d % 1000000u * ppm / 1000000u;
    call.rng += 0x9e3779b97f4a7c15ULL;  // splitmix64's step; ftsc_mix64 finishes it
    const uint64_t r = ftsc_mix64(call.rng) % (2 * span + 1);
    d = d - span + r;
  }
  return static_cast<int64_t>(d);
}

void RetryUnit::on_waited(CallState& call, int64_t waited_ns) const {
  if (waited_ns < 0)
    waited_ns = 0;
  call.waited_ns += waited_ns;
  if (call.slot != nullptr)
    ftsc_stats_add(&call.slot->wait_ns, static_cast<uint64_t>(waited_ns));
}

Decision RetryUnit::on_interrupted(CallState& call, int64_t waited_ns) const {
  on_waited(call, waited_ns);
  count_end(call, Reason::kInterrupted);
  return give_back(Reason::kInterrupted);
}

// Each call that failed lands in exactly one of recovered, gave_up, passed,
// would_retry and budget (interrupted is a part of gave_up).
void RetryUnit::count_end(CallState& call, Reason reason) const {
  if (call.flags & CallState::kCallEnded)
    return;
  call.flags |= CallState::kCallEnded;
  ftsc_stats_slot* slot = call.slot;
  if (slot == nullptr)
    return;
  switch (reason) {
    case Reason::kSuccess:
      ftsc_stats_add(&slot->recovered, 1);
      break;
    case Reason::kObserve:
      ftsc_stats_add(&slot->would_retry, 1);
      break;
    case Reason::kBudget:
      ftsc_stats_add(&slot->budget, 1);
      break;
    case Reason::kInterrupted:
      ftsc_stats_add(&slot->gave_up, 1);
      ftsc_stats_add(&slot->interrupted, 1);
      break;
    default:
      ftsc_stats_add(call.retries > 0 ? &slot->gave_up : &slot->passed, 1);
      break;
  }
}

}  // namespace ftsc::core
