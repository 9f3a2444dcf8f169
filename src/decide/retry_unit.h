// SPDX-License-Identifier: Apache-2.0
//
// The retry decision (decide.h) as typed C++ for the userspace engines: the
// ptrace supervisor and the preload library. Nothing is decided here; every
// member forwards to the one C implementation that the kernel module runs
// too.
//
//   CallState call;
//   unit.begin_call(call, nr, budget, seed);
//   for (;;) {
//     int inj = unit.inject(call, counters.next(nr));   // 0: execute for real
//     long r = inj != 0 ? -inj : execute(args);
//     Decision d = unit.on_result(call, args, r, probe, now_ns());
//     if (d.action == Action::kReturn) return r;
//     int64_t waited;
//     if (!sleep_unless_signalled(d.delay_ns, &waited)) {
//       unit.on_interrupted(call, waited);
//       return r;  // the last error, unchanged
//     }
//     unit.on_waited(call, waited);
//   }
//
// Like decide.c, everything here may run in a signal handler or in the
// preload library's hot path: no allocation, no exceptions, no locks.
#pragma once

#include <atomic>
#include <cstdint>

#include "abi/compiled_policy.h"
#include "abi/stats.h"
#include "decide/decide.h"

namespace ftsc::decide {

// A syscall as the engine saw it at entry: number and the six raw arguments.
struct SyscallArgs {
  long nr = -1;
  uint64_t args[6] = {};
};

// The guards' run-time facts, which only the engine can look up (decide.h's
// struct ftsc_probe). Each answers kHolds, kClear, or a negative errno when it
// could not find out (the guard then counts as holding: fail closed).
class GuardProbe {
 public:
  static constexpr int kClear = FTSC_PROBE_CLEAR;
  static constexpr int kHolds = FTSC_PROBE_HOLDS;
  virtual ~GuardProbe() = default;
  // Does fd have O_NONBLOCK?
  virtual int fd_nonblocking(int fd) = 0;
  // Is fd a socket with SO_SNDTIMEO (send) or SO_RCVTIMEO (!send) set?
  virtual int socket_timeout(int fd, bool send) = 0;
};

// Why the unit decided what it did: enum ftsc_reason, typed.
enum class Reason : uint8_t {
  kSuccess = FTSC_R_SUCCESS,
  kRetry = FTSC_R_RETRY,
  kRestartCode = FTSC_R_RESTART_CODE,
  kNeverRetrySyscall = FTSC_R_NEVER_RETRY_SYSCALL,
  kProgramBug = FTSC_R_PROGRAM_BUG,
  kNoRule = FTSC_R_NO_RULE,
  kPolicyNever = FTSC_R_POLICY_NEVER,
  kUndecided = FTSC_R_UNDECIDED,
  kProtocol = FTSC_R_PROTOCOL,
  kObserve = FTSC_R_OBSERVE,
  kBudget = FTSC_R_BUDGET,
  kScheduleExhausted = FTSC_R_SCHEDULE_EXHAUSTED,
  kDeadline = FTSC_R_DEADLINE,
  kInterrupted = FTSC_R_INTERRUPTED,
  kDetached = FTSC_R_DETACHED,
  kGuardUnknown = FTSC_R_GUARD_UNKNOWN,
  kCannotWait = FTSC_R_CANNOT_WAIT,
};
inline constexpr int kReasonCount = FTSC_R_COUNT;
static_assert(static_cast<int>(Reason::kCannotWait) + 1 == kReasonCount,
              "every enum ftsc_reason value has its Reason");

// "no_rule", "budget", ...: stable, for logs, JSON and tests.
inline const char* reason_name(Reason r) {
  return ftsc_reason_name(static_cast<int>(r));
}
// One sentence for `ftsc policy explain` and -v logs.
inline const char* reason_text(Reason r) {
  return ftsc_reason_text(static_cast<int>(r));
}

enum class Action : uint8_t {
  kReturn,  // give the result to the program (success, or the error unchanged)
  kRetry,   // wait delay_ns, then re-execute with the original arguments
};

struct Decision {
  Action action = Action::kReturn;
  Reason reason = Reason::kSuccess;
  // kRetry: the wait before the re-execution. kObserve and kBudget: the wait a
  // retry would have had. Otherwise 0.
  int64_t delay_ns = 0;
  // kProtocol and kGuardUnknown: the FTSC_SC_GUARD_* bit that held or could
  // not be checked.
  uint16_t guard = 0;
  // kGuardUnknown: why the check failed, as -errno.
  int probe_error = 0;
};

// One call in flight (struct ftsc_call), zeroed.
struct CallState : ftsc_call {
  CallState() : ftsc_call{} {}
};

// The circuit breaker of one process (decide.h explains it): one 64-bit word.
class RetryBudget {
 public:
  enum class Charge : uint8_t {
    kOk = FTSC_CHARGE_OK,            // charged: the retry may wait
    kRefused = FTSC_CHARGE_REFUSED,  // the breaker was already tripped in this window
    kTripped = FTSC_CHARGE_TRIPPED,  // this charge tripped the breaker
  };

  constexpr RetryBudget() = default;
  // window_ns == 0 disables the breaker (always kOk, nothing recorded).
  Charge charge(int64_t now_ns, int64_t delay_ns, uint64_t window_ns, uint64_t max_wait_ns) {
    return static_cast<Charge>(
        ftsc_budget_charge(&word_, now_ns, delay_ns, window_ns, max_wait_ns));
  }
  // Is the breaker tripped in the window containing now_ns?
  bool tripped(int64_t now_ns, uint64_t window_ns) const {
    return ftsc_budget_tripped(&word_, now_ns, window_ns);
  }
  // Forget everything (e.g. in a fork child).
  void reset() { __atomic_store_n(&word_, 0, __ATOMIC_RELAXED); }
  uint64_t* word() { return &word_; }

  // The budget whose state is the 64-bit word at `word` (8-byte aligned, zero
  // for a fresh budget), such as a word in memory that the processes of a run
  // share.
  static RetryBudget* at(uint64_t* word) { return reinterpret_cast<RetryBudget*>(word); }

 private:
  uint64_t word_ = 0;
};
static_assert(sizeof(RetryBudget) == sizeof(uint64_t) && alignof(RetryBudget) == alignof(uint64_t),
              "RetryBudget::at() views a plain 64-bit word");

// The attempt counters behind injections' `when=`: per syscall, per process,
// counted from 1, shared by the process's threads.
class AttemptCounters {
 public:
  // The number of this attempt of syscall nr (1, 2, ...); 0 for nr out of range.
  uint64_t next(long nr) {
    if (nr < 0 || static_cast<unsigned long>(nr) >= FTSC_NR_LIMIT)
      return 0;
    return counters_[nr].fetch_add(1, std::memory_order_relaxed) + 1;
  }
  void reset() {
    for (auto& c : counters_)
      c.store(0, std::memory_order_relaxed);
  }

 private:
  std::atomic<uint64_t> counters_[FTSC_NR_LIMIT] = {};
  static_assert(std::atomic<uint64_t>::is_always_lock_free);
};

// Statistics (abi/stats.h): a call counts once it fails, under the errno of
// its first failure, and ends in exactly one of recovered, gave_up, passed,
// would_retry and budget. attempts = calls + retries.
struct RetryUnitOptions {
  bool dry_run = false;  // --dry-run: like the policy's observe mode
};

class RetryUnit {
 public:
  // policy must be valid (ftsc_policy_validate) and outlive the unit. stats
  // may be null (nothing counted).
  RetryUnit(const ftsc_policy& policy, ftsc_stats* stats, RetryUnitOptions options = {})
      : ctx_{&policy, stats, options.dry_run || (policy.flags & FTSC_POLICY_OBSERVE) != 0} {}

  // Starts a call of syscall nr. budget (the process's; may be null: no
  // breaker) must outlive the call; seed feeds the jitter (any value).
  void begin_call(CallState& call, long nr, RetryBudget* budget, uint64_t seed) const {
    ftsc_call_begin(&call, nr, budget != nullptr ? budget->word() : nullptr, seed);
  }

  // Makes call, just begun, the outcome of a call made earlier (a
  // non-blocking connect's SO_ERROR): counted in its syscall's async row.
  void mark_async(CallState& call) const { call.flags |= FTSC_CALL_ASYNC; }

  // The errno to inject into this attempt instead of executing it, or 0.
  int inject(CallState& call, uint64_t attempt) const {
    return ftsc_call_inject(ctx_.policy, &call, attempt);
  }

  // Decides on the raw result of an attempt. now_ns: the engine's monotonic clock.
  Decision on_result(CallState& call, const SyscallArgs& args, long result, GuardProbe& probe,
                     int64_t now_ns) const {
    const ftsc_probe p{&ask_fd_nonblocking, &ask_socket_timeout, &probe};
    return typed(ftsc_call_result(&ctx_, &call, args.args, result, &p, now_ns));
  }

  // The engine waited waited_ns after a kRetry decision and is about to re-execute.
  void on_waited(CallState& call, int64_t waited_ns) const {
    ftsc_call_waited(&ctx_, &call, waited_ns);
  }

  // A pending signal ended the wait after waited_ns: the program gets the last
  // error (call.last_errno) now. Counted as gave_up and interrupted.
  Decision on_interrupted(CallState& call, int64_t waited_ns) const {
    return typed(ftsc_call_interrupted(&ctx_, &call, waited_ns));
  }

  // The engine could not wait (its sleep was refused): the program gets the
  // last error now. Counted as gave_up.
  Decision on_cannot_wait(CallState& call, int64_t waited_ns) const {
    return typed(ftsc_call_cannot_wait(&ctx_, &call, waited_ns));
  }

  bool observing() const { return ctx_.observe; }
  const ftsc_policy& policy() const { return *ctx_.policy; }

 private:
  static int ask_fd_nonblocking(void* probe, int fd) {
    return static_cast<GuardProbe*>(probe)->fd_nonblocking(fd);
  }
  static int ask_socket_timeout(void* probe, int fd, bool send) {
    return static_cast<GuardProbe*>(probe)->socket_timeout(fd, send);
  }
  static Decision typed(const ftsc_verdict& v) {
    return Decision{v.retry ? Action::kRetry : Action::kReturn, static_cast<Reason>(v.reason),
                    v.delay_ns, v.guard, v.probe_error};
  }

  ftsc_decide_ctx ctx_;
};

// Kernel-internal restart codes and other results a program never sees (>= 512).
inline constexpr int kFirstKernelInternalErrno = FTSC_FIRST_INTERNAL_ERRNO;
// The largest errno a syscall can return (the kernel's MAX_ERRNO).
inline constexpr int kMaxErrno = FTSC_MAX_ERRNO;

}  // namespace ftsc::decide
