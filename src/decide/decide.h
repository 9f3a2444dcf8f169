/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The retry decision: the one implementation of ftsc's retry algorithm
 * (docs/design.md, "Retry semantics"), in C that builds both in the kernel
 * module and in userspace.
 *
 * Every engine runs a call, hands the raw kernel result to
 * ftsc_call_result(), and gets a verdict: give the result to the program, or
 * wait `delay_ns` and re-execute the call with its original arguments. This
 * code decides and counts: the policy lookup, the built-in guards, the
 * backoff schedule with its jitter, the deadline, the circuit breaker and
 * the statistics. The engine waits in its own way (a sleep the program's
 * thread makes itself, a thread parked in the supervisor, an interruptible
 * sleep in the kernel) and re-executes:
 *
 *	struct ftsc_call call;
 *	ftsc_call_begin(&call, nr, budget_word, seed);
 *	for (;;) {
 *		int inj = ftsc_call_inject(policy, &call, attempt_number);
 *		long r = inj ? -inj : execute(args);
 *		d = ftsc_call_result(&ctx, &call, args, r, &probe, now_ns);
 *		if (!d.retry)
 *			return r;
 *		sleep d.delay_ns unless a signal comes; on a signal:
 *			ftsc_call_interrupted(&ctx, &call, waited); return r;
 *		ftsc_call_waited(&ctx, &call, waited);
 *	}
 *
 * Everything here may run in a signal handler, in the preload library's hot
 * path or in the kernel: no allocation, no locks, no syscalls (the engine
 * reads the clock and passes `now_ns`), no library calls, only fixed-width
 * types and compiler atomics. The only shared state (the statistics table,
 * a process's circuit-breaker word) is updated with lock-free atomics; the
 * statistics table may be a mapping that many processes write at once.
 *
 * The userspace engines use it through the typed C++ view in retry_unit.h.
 */
#ifndef FTSC_DECIDE_DECIDE_H
#define FTSC_DECIDE_DECIDE_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stdint.h>
#endif

#include "abi/compiled_policy.h"
#include "abi/stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Why a decision was taken. The values are stable: -v log records carry
 * them between the preload library and ftsc. */
enum ftsc_reason {
  FTSC_R_SUCCESS = 0,             /* the attempt succeeded */
  FTSC_R_RETRY = 1,               /* the policy retries (syscall, errno) */
  FTSC_R_RESTART_CODE = 2,        /* ERESTARTSYS & co. (>= 512): untouched */
  FTSC_R_NEVER_RETRY_SYSCALL = 3, /* close, exit, rt_sigreturn ... */
  FTSC_R_PROGRAM_BUG = 4,         /* EFAULT, EBADF, ENOSYS */
  FTSC_R_NO_RULE = 5,             /* FTSC_UNSET */
  FTSC_R_POLICY_NEVER = 6,        /* FTSC_NEVER */
  FTSC_R_UNDECIDED = 7,           /* FTSC_UNDECIDED (a matrix's `?`) */
  FTSC_R_PROTOCOL = 8,            /* a protocol errno while a guard holds */
  FTSC_R_OBSERVE = 9,             /* observe mode or --dry-run */
  FTSC_R_BUDGET = 10,             /* the circuit breaker is open */
  FTSC_R_SCHEDULE_EXHAUSTED = 11, /* no delay left */
  FTSC_R_DEADLINE = 12,           /* the deadline since the first failure passed */
  FTSC_R_INTERRUPTED = 13,        /* a pending signal ended the wait */
  FTSC_R_DETACHED = 14,           /* kmod: the policy was detached during the wait */
  FTSC_R_GUARD_UNKNOWN = 15,      /* a guard could not be checked: fail closed */
  FTSC_R_CANNOT_WAIT = 16,        /* the engine could not wait (its sleep was refused) */
  FTSC_R_COUNT
};

/* "no_rule", "budget", ...: stable, for logs, JSON and tests; "unknown"
 * for a value out of range. */
const char* ftsc_reason_name(int reason);
/* One sentence for `ftsc policy explain` and -v logs. */
const char* ftsc_reason_text(int reason);

struct ftsc_verdict {
  bool retry;          /* wait delay_ns, then re-execute */
  uint8_t reason;      /* enum ftsc_reason */
  uint16_t guard;      /* PROTOCOL, GUARD_UNKNOWN: the FTSC_SC_GUARD_* bit */
  int32_t probe_error; /* GUARD_UNKNOWN: why the check failed (-errno) */
  int64_t delay_ns;    /* retry: the wait; observe and budget: the wait it would be */
};

/* ftsc_call.flags */
#define FTSC_CALL_ENDED (1u << 0) /* the call's outcome is counted */
/* The outcome of a call made earlier (a non-blocking connect's SO_ERROR):
 * the engine sets it after ftsc_call_begin(), and the call is counted in the
 * row (nr | FTSC_STATS_ASYNC, errno) of the statistics (abi/stats.h). */
#define FTSC_CALL_ASYNC (1u << 1)

/* One call in flight: plain data that the engine keeps wherever it likes
 * (on the stack in-process and in the kernel, in the supervisor's record of
 * the thread). */
struct ftsc_call {
  long nr;
  int first_errno;   /* 0 until an attempt failed */
  int last_errno;    /* what the program gets if the call ends now */
  uint32_t attempts; /* attempts whose result was seen */
  uint32_t retries;  /* retries decided; the position in the schedule */
  int64_t waited_ns; /* time waited between attempts so far */
  int64_t first_failure_ns;
  uint64_t rng;                 /* jitter's splitmix64 state */
  int pending_inject;           /* errno chosen for the next attempt, 0 for none */
  uint32_t flags;               /* FTSC_CALL_* */
  uint64_t* budget;             /* the process's circuit breaker word, or NULL */
  struct ftsc_stats_slot* slot; /* (nr, first_errno); NULL: not counted */
};

/* What every decision reads: the policy, the statistics, the mode. */
struct ftsc_decide_ctx {
  const struct ftsc_policy* policy; /* validated (ftsc_policy_validate) */
  struct ftsc_stats* stats;         /* may be NULL: nothing counted */
  bool observe;                     /* observe mode or --dry-run */
};

/*
 * Run-time facts only the engine can look up about the calling thread's fds
 * (fcntl(F_GETFL) and getsockopt in-process, /proc/TID/fdinfo and
 * pidfd_getfd(2) for a tracee, the file table in the kernel). Asked lazily:
 * only for a failure the policy would retry, of a protocol errno, of a
 * syscall with that guard, and only when no cheaper guard already decided.
 * Each answers FTSC_PROBE_HOLDS, FTSC_PROBE_CLEAR, or a negative errno when
 * it could not find out; a guard that cannot be checked counts as holding
 * (fail closed: FTSC_R_GUARD_UNKNOWN, no retry).
 */
#define FTSC_PROBE_CLEAR 0
#define FTSC_PROBE_HOLDS 1
struct ftsc_probe {
  int (*fd_nonblocking)(void* data, int fd);            /* O_NONBLOCK? */
  int (*socket_timeout)(void* data, int fd, bool send); /* SO_SNDTIMEO/SO_RCVTIMEO? */
  void* data;
};

/* Starts a call of syscall nr; budget (may be NULL: no breaker) must
 * outlive it; seed feeds the jitter (any value). */
void ftsc_call_begin(struct ftsc_call* call, long nr, uint64_t* budget, uint64_t seed);

/* The errno to inject into attempt number `attempt` (the process's counter
 * for call->nr, from 1) instead of executing it, or 0. A non-zero result is
 * remembered so that ftsc_call_result() counts the attempt as injected. */
int ftsc_call_inject(const struct ftsc_policy* p, struct ftsc_call* call, uint64_t attempt);

/* Decides on the raw result of an attempt (-errno for -4095..-1, anything
 * else is a success). */
struct ftsc_verdict ftsc_call_result(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call,
                                     const uint64_t args[6], long result,
                                     const struct ftsc_probe* probe, int64_t now_ns);

/* The engine waited waited_ns after a retry verdict and re-executes now. */
void ftsc_call_waited(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call, int64_t waited_ns);

/* A pending signal ended the wait after waited_ns: the program gets
 * call->last_errno now. Counted as gave_up and interrupted. */
struct ftsc_verdict ftsc_call_interrupted(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call,
                                          int64_t waited_ns);

/* The engine could not wait (the program's own seccomp filter refuses its
 * sleep): the call ends with call->last_errno now, counted as gave_up. */
struct ftsc_verdict ftsc_call_cannot_wait(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call,
                                          int64_t waited_ns);

/* The policy was detached during the wait (kmod): the last error now. */
struct ftsc_verdict ftsc_call_detached(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call,
                                       int64_t waited_ns);

/*
 * The circuit breaker of one process: within each window of window_ns
 * (aligned to multiples of it on the engine's clock) retries may plan at
 * most max_wait_ns of waiting. A retry whose delay would exceed that trips
 * the breaker: that failure and every later one of the process pass through
 * at once until the window ends. A retry is charged its planned delay when
 * it is decided (so that concurrent threads cannot overshoot); waits a
 * signal cuts short are not refunded.
 *
 * The state is one 64-bit word, updated with compare-and-swap, which may
 * live in memory the processes of a run share: the window number's low 24
 * bits, a tripped bit, and the microseconds charged (39 bits, about six
 * days; budgets above that are clamped). A window is recognised by those 24
 * bits, so a process whose previous charge was exactly 2^24 windows ago
 * would see that window's total once. window_ns == 0 disables the breaker.
 */
enum ftsc_charge {
  FTSC_CHARGE_OK,      /* charged: the retry may wait */
  FTSC_CHARGE_REFUSED, /* the breaker was already open in this window */
  FTSC_CHARGE_TRIPPED, /* this charge opened it (count budget_trips once) */
};
enum ftsc_charge ftsc_budget_charge(uint64_t* word, int64_t now_ns, int64_t delay_ns,
                                    uint64_t window_ns, uint64_t max_wait_ns);
/* Is the breaker open in the window containing now_ns? */
bool ftsc_budget_tripped(const uint64_t* word, int64_t now_ns, uint64_t window_ns);

/* Kernel-internal restart codes and other results a program never sees. */
#define FTSC_FIRST_INTERNAL_ERRNO 512
/* The largest errno a syscall can return (the kernel's MAX_ERRNO). */
#define FTSC_MAX_ERRNO 4095

#ifdef __cplusplus
}
#endif

#endif /* FTSC_DECIDE_DECIDE_H */
