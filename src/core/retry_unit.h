// The retry unit: DESIGN.md's retry algorithm, once, for the userspace engines.
//
// An engine (the ptrace supervisor, the preload library) runs a call, hands
// the raw kernel result to on_result(), and gets a Decision: give the result
// to the program, or wait `delay_ns` and re-execute the call with its
// original arguments. The unit decides and counts; the engine waits (in a way
// that a pending signal ends, reporting that with on_interrupted()) and
// re-executes. A call in flight is a CallState; a process is a RetryBudget
// (the circuit breaker, shared by its threads) and AttemptCounters (the
// `when=` counters of injections, per syscall per process).
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
// Everything here may run in a signal handler or in the preload library's
// hot path: no allocation, no exceptions, no locks, no syscalls (the engine
// reads the clock and passes `now_ns`), and the only shared state is updated
// with lock-free atomics. The statistics table may be a shared mapping that
// many processes write at once (abi/stats.h).
#pragma once

#include <atomic>
#include <cstdint>

#include "abi/compiled_policy.h"
#include "abi/stats.h"

namespace ftsc::core {

class RetryBudget;

// A syscall as the engine saw it at entry: number and the six raw arguments.
struct SyscallArgs {
  long nr = -1;
  uint64_t args[6] = {};
};

// Run-time facts only the engine can look up (fcntl(F_GETFL), getsockopt, or
// /proc/PID/fdinfo for a tracee). The unit asks lazily: only for a failure
// that the policy would retry, of a protocol errno, of a syscall with that
// guard, and only when no cheaper guard already decided.
class GuardProbe {
 public:
  virtual ~GuardProbe() = default;
  // Does fd have O_NONBLOCK? false when unknown.
  virtual bool fd_nonblocking(int fd) = 0;
  // Is fd a socket with SO_SNDTIMEO (send) or SO_RCVTIMEO (!send) set? false when unknown.
  virtual bool socket_timeout(int fd, bool send) = 0;
};

// Why the unit decided what it did. Names and sentences: reason_name(), reason_text().
enum class Reason : uint8_t {
  kSuccess,            // the attempt succeeded
  kRetry,              // the policy retries (syscall, errno): wait, then re-execute
  kRestartCode,        // ERESTARTSYS & co. (>= 512): kernel-internal, passed through untouched
  kNeverRetrySyscall,  // close, exit, rt_sigreturn ... (FTSC_SC_NEVER_RETRY)
  kProgramBug,         // EFAULT, EBADF, ENOSYS: never retried, whatever the policy says
  kNoRule,             // FTSC_UNSET
  kPolicyNever,        // FTSC_NEVER
  kUndecided,          // FTSC_UNDECIDED (a matrix's `?`)
  kProtocol,           // a protocol errno while a guard holds (non-blocking, timed wait)
  kObserve,            // observe mode or --dry-run: would retry, counted, not retried
  kBudget,             // the process's retry budget is spent (circuit breaker)
  kScheduleExhausted,  // the schedule has no delay left
  kDeadline,           // the deadline after the first failure has passed
  kInterrupted,        // a pending signal ended the wait
};
inline constexpr int kReasonCount = static_cast<int>(Reason::kInterrupted) + 1;

// "no_rule", "budget", ...: stable, for logs, JSON and tests.
const char* reason_name(Reason r);
// One sentence for `ftsc policy explain` and -v logs.
const char* reason_text(Reason r);

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
  // kProtocol: the FTSC_SC_GUARD_* bit that held.
  uint16_t guard = 0;
};

// One call in flight. Plain data: the engine keeps it wherever it likes (on
// the stack in-process, in the supervisor's per-thread record).
struct CallState {
  long nr = -1;
  int first_errno = 0;    // 0 until an attempt failed
  int last_errno = 0;     // the errno the program gets if the call ends now
  uint32_t attempts = 0;  // attempts whose result was seen
  uint32_t retries = 0;   // retries decided; also the position in the schedule
  int64_t waited_ns = 0;  // time waited between attempts so far
  int64_t first_failure_ns = 0;
  uint64_t rng = 0;        // jitter's PRNG state (splitmix64), seeded by begin_call
  int pending_inject = 0;  // errno inject() chose for the next attempt, 0 for none
  uint32_t flags = 0;      // kCall* below
  RetryBudget* budget = nullptr;
  ftsc_stats_slot* slot = nullptr;  // the slot of (nr, first_errno); null: not counted

  static constexpr uint32_t kCallEnded = 1u << 0;  // the call's outcome is counted
};

// The circuit breaker of one process: within each window of budget_window_ns
// (aligned to multiples of it on the engine's clock) retries may plan at most
// budget_max_wait_ns of waiting. A retry whose delay would exceed that trips
// the breaker: that failure and every later one of the process pass through at
// once until the window ends. A retry is charged its planned delay when it is
// decided (so that concurrent threads cannot overshoot); waits a signal cuts
// short are not refunded.
//
// State is one 64-bit word, updated with compare-and-swap: the window
// number's low 24 bits, a tripped bit, and the microseconds charged (39 bits,
// about six days; budgets above that are clamped). A window is recognised by
// those 24 bits, so a process whose previous charge was exactly 2^24 windows
// ago (five years of 10 s windows) would see that window's total once.
class RetryBudget {
 public:
  enum class Charge : uint8_t {
    kOk,       // charged: the retry may wait
    kRefused,  // the breaker was already tripped in this window
    kTripped,  // this charge tripped the breaker (count budget_trips once)
  };

  // window_ns == 0 disables the breaker (always kOk, nothing recorded).
  Charge charge(int64_t now_ns, int64_t delay_ns, uint64_t window_ns, uint64_t max_wait_ns);
  // Is the breaker tripped in the window containing now_ns?
  bool tripped(int64_t now_ns, uint64_t window_ns) const;
  // Forget everything (e.g. in a fork child).
  void reset() { state_.store(0, std::memory_order_relaxed); }

  // The budget whose state is the 64-bit word at `word` (8-byte aligned, zero
  // for a fresh budget), such as a word in memory that the processes of a run
  // share: a lock-free atomic is address-free, so every process that maps the
  // word sees the same budget.
  static RetryBudget* at(uint64_t* word) { return reinterpret_cast<RetryBudget*>(word); }

 private:
  std::atomic<uint64_t> state_{0};
  static_assert(std::atomic<uint64_t>::is_always_lock_free);
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
// its first failure, and ends in exactly one of recovered, gave_up (it had
// decided to retry; interrupted is a part of it), passed (returned at its first
// failure), would_retry (observe mode) and budget (the breaker stopped a retry,
// first or later). attempts = calls + retries. A restart code (>= 512) at the
// first attempt is not a failure the program sees and is not counted.
struct RetryUnitOptions {
  bool dry_run = false;  // --dry-run: like the policy's observe mode
};

class RetryUnit {
 public:
  // policy must be valid (ftsc_policy_validate) and outlive the unit; the unit
  // still bounds every index it reads. stats may be null (nothing counted).
  RetryUnit(const ftsc_policy& policy, ftsc_stats* stats, RetryUnitOptions options = {})
      : policy_(policy), stats_(stats), options_(options) {}

  // Starts a call of syscall nr. budget (the process's; may be null: no
  // breaker) must outlive the call; seed feeds the jitter (any value).
  void begin_call(CallState& call, long nr, RetryBudget* budget, uint64_t seed) const;

  // The errno to inject into this attempt instead of executing it, or 0.
  // attempt: the process's counter for call.nr (AttemptCounters::next); the
  // engine need not count attempts of syscalls without FTSC_SC_INJECT (this
  // returns 0 for them). A non-zero result is remembered, so that on_result()
  // counts the attempt as injected; the engine then passes -errno as result.
  int inject(CallState& call, uint64_t attempt) const;

  // Decides on the raw result of an attempt (-errno for -4095..-1, anything
  // else is a success). now_ns: the engine's monotonic clock.
  Decision on_result(CallState& call, const SyscallArgs& args, long result, GuardProbe& probe,
                     int64_t now_ns) const;

  // The engine waited waited_ns after a kRetry decision and is about to re-execute.
  void on_waited(CallState& call, int64_t waited_ns) const;

  // A pending signal ended the wait after waited_ns: the program gets the last
  // error (call.last_errno) now. Counted as gave_up and interrupted.
  Decision on_interrupted(CallState& call, int64_t waited_ns) const;

  bool observing() const { return options_.dry_run || (policy_.flags & FTSC_POLICY_OBSERVE); }
  const ftsc_policy& policy() const { return policy_; }

 private:
  Decision decide_failure(CallState& call, const SyscallArgs& args, int err, GuardProbe& probe,
                          int64_t now_ns) const;
  int64_t next_delay(CallState& call, const ftsc_schedule& s) const;
  void count_end(CallState& call, Reason reason) const;

  const ftsc_policy& policy_;
  ftsc_stats* stats_;
  RetryUnitOptions options_;
};

// Kernel-internal restart codes and other results a program never sees (>= 512).
inline constexpr int kFirstKernelInternalErrno = 512;
// The largest errno a syscall can return (the kernel's MAX_ERRNO).
inline constexpr int kMaxErrno = 4095;

}  // namespace ftsc::core
