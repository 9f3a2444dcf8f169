// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * The retry decision; decide.h says what it is, what it may use and how an
 * engine drives it. The kernel module compiles this file into itself
 * (kmod/ftsc_decide.c); userspace links it as ftsc::decide.
 */
#include "decide/decide.h"

#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif

#define FTSC_INT64_MAX ((int64_t)(~0ULL >> 1))
/* A jittered delay (at most twice this) and now + delay stay in int64_t. */
#define FTSC_MAX_DELAY_NS ((uint64_t)FTSC_INT64_MAX / 4)

/* The breaker word: window number | tripped bit | microseconds charged. */
#define FTSC_SPENT_BITS 39
#define FTSC_SPENT_MASK ((1ULL << FTSC_SPENT_BITS) - 1)
#define FTSC_TRIPPED_BIT (1ULL << FTSC_SPENT_BITS)
#define FTSC_WINDOW_SHIFT (FTSC_SPENT_BITS + 1)
#define FTSC_WINDOW_MASK ((1ULL << (64 - FTSC_WINDOW_SHIFT)) - 1)

static const char* const ftsc_reason_names[FTSC_R_COUNT] = {
    [FTSC_R_SUCCESS] = "success",
    [FTSC_R_RETRY] = "retry",
    [FTSC_R_RESTART_CODE] = "restart_code",
    [FTSC_R_NEVER_RETRY_SYSCALL] = "never_retry_syscall",
    [FTSC_R_PROGRAM_BUG] = "program_bug",
    [FTSC_R_NO_RULE] = "no_rule",
    [FTSC_R_POLICY_NEVER] = "policy_never",
    [FTSC_R_UNDECIDED] = "undecided",
    [FTSC_R_PROTOCOL] = "protocol",
    [FTSC_R_OBSERVE] = "observe",
    [FTSC_R_BUDGET] = "budget",
    [FTSC_R_SCHEDULE_EXHAUSTED] = "schedule_exhausted",
    [FTSC_R_DEADLINE] = "deadline",
    [FTSC_R_INTERRUPTED] = "interrupted",
    [FTSC_R_DETACHED] = "detached",
    [FTSC_R_GUARD_UNKNOWN] = "guard_unknown",
    [FTSC_R_CANNOT_WAIT] = "cannot_wait",
};

static const char* const ftsc_reason_texts[FTSC_R_COUNT] = {
    [FTSC_R_SUCCESS] = "the call succeeded; its result goes to the program unchanged",
    [FTSC_R_RETRY] =
        "the policy retries this errno for this syscall: ftsc waits the next delay of the rule's "
        "schedule, then re-executes the call with its original arguments",
    [FTSC_R_RESTART_CODE] =
        "a kernel-internal restart code (ERESTARTSYS and the like) that the program never sees: "
        "the kernel restarts the call or turns it into EINTR, so ftsc leaves it alone",
    [FTSC_R_NEVER_RETRY_SYSCALL] =
        "this syscall is never retried: close releases the fd even when it fails, and exit, "
        "exit_group, rt_sigreturn and restart_syscall must not run twice",
    [FTSC_R_PROGRAM_BUG] =
        "EFAULT, EBADF and ENOSYS are program bugs, never transient faults: they are never "
        "retried, whatever the policy says",
    [FTSC_R_NO_RULE] =
        "no rule covers this syscall and errno, so the error goes to the program at once",
    [FTSC_R_POLICY_NEVER] = "a rule says never to retry this syscall on this errno",
    [FTSC_R_UNDECIDED] =
        "the policy leaves this syscall and errno undecided ('?'), which is never retried; decide "
        "the cell to change that",
    [FTSC_R_PROTOCOL] =
        "this errno is the program's own protocol, not a fault (a non-blocking call that would "
        "block, or a timed wait that timed out), so it goes to the program at once",
    [FTSC_R_OBSERVE] =
        "observe mode (or --dry-run): the call would have been retried; ftsc counts it as "
        "would_retry and returns the error at once",
    [FTSC_R_BUDGET] =
        "the process has spent its retry budget for this window (circuit breaker): failures go to "
        "the program at once until the window ends",
    [FTSC_R_SCHEDULE_EXHAUSTED] =
        "the rule's backoff schedule has no delay left: the program gets the last error",
    [FTSC_R_DEADLINE] =
        "the rule's deadline since the first failure has passed: the program gets the last error",
    [FTSC_R_INTERRUPTED] =
        "a pending signal ended the wait: the program gets the last error at once, so that its "
        "signal handling is never delayed",
    [FTSC_R_DETACHED] =
        "the kernel engine's policy was detached while the call waited: the program gets the last "
        "error at once",
    [FTSC_R_GUARD_UNKNOWN] =
        "whether this errno is the program's own protocol (a non-blocking fd, a socket timeout) "
        "could not be checked, so ftsc does not retry it (it fails closed): the program gets the "
        "error at once",
    [FTSC_R_CANNOT_WAIT] =
        "ftsc could not wait before the retry (the program's own seccomp filter refuses the "
        "sleep ftsc would make in it): the program gets the last error at once rather than "
        "retries without a wait",
};

const char* ftsc_reason_name(int reason) {
  if (reason < 0 || reason >= FTSC_R_COUNT)
    return "unknown";
  return ftsc_reason_names[reason];
}

const char* ftsc_reason_text(int reason) {
  if (reason < 0 || reason >= FTSC_R_COUNT)
    return "unknown reason";
  return ftsc_reason_texts[reason];
}

static struct ftsc_verdict give_back(enum ftsc_reason r) {
  struct ftsc_verdict d = {false, (uint8_t)r, 0, 0, 0};

  return d;
}

static uint64_t window_number(int64_t now_ns, uint64_t window_ns) {
  uint64_t now = now_ns < 0 ? 0 : (uint64_t)now_ns;

  return (now / window_ns) & FTSC_WINDOW_MASK;
}

/* The word is only ever read and replaced as a whole and publishes no other
 * memory, so relaxed ordering is enough. */
enum ftsc_charge ftsc_budget_charge(uint64_t* word, int64_t now_ns, int64_t delay_ns,
                                    uint64_t window_ns, uint64_t max_wait_ns) {
  uint64_t window, delay, need_us, max_us, old;

  if (window_ns == 0)
    return FTSC_CHARGE_OK;
  window = window_number(now_ns, window_ns);
  delay = delay_ns < 0 ? 0 : (uint64_t)delay_ns;
  need_us = delay / 1000 + (delay % 1000 != 0 ? 1 : 0);
  if (need_us > FTSC_SPENT_MASK)
    need_us = FTSC_SPENT_MASK;
  max_us = max_wait_ns / 1000;
  if (max_us > FTSC_SPENT_MASK)
    max_us = FTSC_SPENT_MASK;

  old = __atomic_load_n(word, __ATOMIC_RELAXED);
  for (;;) {
    bool same = (old >> FTSC_WINDOW_SHIFT) == window;
    uint64_t spent, desired;
    bool fits;

    if (same && (old & FTSC_TRIPPED_BIT))
      return FTSC_CHARGE_REFUSED;
    spent = same ? (old & FTSC_SPENT_MASK) : 0;
    fits = spent <= max_us && need_us <= max_us - spent;
    desired = (window << FTSC_WINDOW_SHIFT) | (fits ? spent + need_us : spent | FTSC_TRIPPED_BIT);
    if (__atomic_compare_exchange_n(word, &old, desired, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return fits ? FTSC_CHARGE_OK : FTSC_CHARGE_TRIPPED;
  }
}

bool ftsc_budget_tripped(const uint64_t* word, int64_t now_ns, uint64_t window_ns) {
  uint64_t s;

  if (window_ns == 0)
    return false;
  s = __atomic_load_n(word, __ATOMIC_RELAXED);
  return (s >> FTSC_WINDOW_SHIFT) == window_number(now_ns, window_ns) &&
         (s & FTSC_TRIPPED_BIT) != 0;
}

/*
 * Which guard makes this failure the program's own protocol: cheap argument
 * checks first, the probes (a syscall or a /proc read in the engine) only
 * when they did not decide. Returns the FTSC_SC_GUARD_* bit that holds, or
 * 0. When none holds but a probe could not answer, *unknown is that guard's
 * bit and *why the probe's -errno: the guard counts as holding.
 */
static uint16_t protocol_guard(const struct ftsc_syscall* sc, const uint64_t args[6],
                               const struct ftsc_probe* probe, uint16_t* unknown, int32_t* why) {
  static const uint16_t fd_guards[] = {
      FTSC_SC_GUARD_NONBLOCK_FD,
      FTSC_SC_GUARD_SOCK_RCVTIMEO,
      FTSC_SC_GUARD_SOCK_SNDTIMEO,
  };
  unsigned int f = sc->flags;
  unsigned int i;
  int fd, answer;

  if (f & FTSC_SC_GUARD_ALWAYS)
    return FTSC_SC_GUARD_ALWAYS;
  if (sc->flags_arg < 6) {
    uint64_t flags = args[sc->flags_arg];

    if ((f & FTSC_SC_GUARD_NONBLOCK_FLAGS) && (flags & sc->nonblock_mask) != 0)
      return FTSC_SC_GUARD_NONBLOCK_FLAGS;
    if (f & FTSC_SC_GUARD_NONBLOCK_CMD) {
      /* Commands are C ints: the low 32 bits, as the kernel reads them. */
      int32_t cmd = (int32_t)(uint32_t)flags;

      for (i = 0; i < FTSC_NONBLOCK_CMDS; i++)
        if (sc->nonblock_cmds[i] != -1 && sc->nonblock_cmds[i] == cmd)
          return FTSC_SC_GUARD_NONBLOCK_CMD;
    }
  }
  if ((f & FTSC_SC_GUARD_TIMEOUT_ARG) && sc->timeout_arg < 6 && args[sc->timeout_arg] != 0)
    return FTSC_SC_GUARD_TIMEOUT_ARG;
  if (sc->fd_arg >= 6)
    return 0;
  fd = (int)(uint32_t)args[sc->fd_arg];
  for (i = 0; i < sizeof(fd_guards) / sizeof(fd_guards[0]); i++) {
    uint16_t g = fd_guards[i];

    if (!(f & g))
      continue;
    if (g == FTSC_SC_GUARD_NONBLOCK_FD)
      answer = probe->fd_nonblocking(probe->data, fd);
    else
      answer = probe->socket_timeout(probe->data, fd, g == FTSC_SC_GUARD_SOCK_SNDTIMEO);
    if (answer == FTSC_PROBE_HOLDS)
      return g;
    if (answer != FTSC_PROBE_CLEAR && *unknown == 0) {
      *unknown = g;
      *why = answer < 0 ? answer : -EIO;
    }
  }
  return 0;
}

void ftsc_call_begin(struct ftsc_call* call, long nr, uint64_t* budget, uint64_t seed) {
  __builtin_memset(call, 0, sizeof(*call));
  call->nr = nr;
  call->budget = budget;
  call->rng = seed;
}

int ftsc_call_inject(const struct ftsc_policy* p, struct ftsc_call* call, uint64_t attempt) {
  int err;

  call->pending_inject = 0;
  if (attempt == 0)
    return 0;
  err = ftsc_policy_inject(p, call->nr, attempt);
  if (err <= 0 || err > FTSC_MAX_ERRNO)
    return 0;
  call->pending_inject = err;
  return err;
}

/* Each failed call lands in exactly one of recovered, gave_up, passed,
 * would_retry and budget (interrupted is a part of gave_up, guard_unknown a
 * part of passed and gave_up). */
static void count_end(struct ftsc_call* call, enum ftsc_reason reason) {
  struct ftsc_stats_slot* slot = call->slot;

  if (call->flags & FTSC_CALL_ENDED)
    return;
  call->flags |= FTSC_CALL_ENDED;
  if (!slot)
    return;
  ftsc_stats_sub(&slot->in_flight, 1);
  switch (reason) {
    case FTSC_R_SUCCESS:
      ftsc_stats_add(&slot->recovered, 1);
      break;
    case FTSC_R_OBSERVE:
      ftsc_stats_add(&slot->would_retry, 1);
      break;
    case FTSC_R_BUDGET:
      ftsc_stats_add(&slot->budget, 1);
      break;
    case FTSC_R_INTERRUPTED:
      ftsc_stats_add(&slot->gave_up, 1);
      ftsc_stats_add(&slot->interrupted, 1);
      break;
    case FTSC_R_GUARD_UNKNOWN:
      ftsc_stats_add(&slot->guard_unknown, 1);
      ftsc_stats_add(call->retries > 0 ? &slot->gave_up : &slot->passed, 1);
      break;
    default:
      ftsc_stats_add(call->retries > 0 ? &slot->gave_up : &slot->passed, 1);
      break;
  }
}

/* Delay number call->retries of s, jittered: uniform in [d(1-j), d(1+j)]. */
static int64_t next_delay(struct ftsc_call* call, const struct ftsc_schedule* s) {
  uint64_t d = s->delay_ns[call->retries];
  uint64_t ppm = s->jitter_ppm < 1000000u ? s->jitter_ppm : 1000000u;

  if (d > FTSC_MAX_DELAY_NS)
    d = FTSC_MAX_DELAY_NS;
  if (ppm != 0 && d != 0) {
    /* d * ppm / 10^6 without overflowing 64 bits */
    uint64_t span = d / 1000000u * ppm + d % 1000000u * ppm / 1000000u;
    uint64_t r;

    call->rng += 0x9e3779b97f4a7c15ULL; /* splitmix64's step */
    r = ftsc_mix64(call->rng) % (2 * span + 1);
    d = d - span + r;
  }
  return (int64_t)d;
}

static struct ftsc_verdict decide_failure(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call,
                                          const uint64_t args[6], int err,
                                          const struct ftsc_probe* probe, int64_t now_ns) {
  const struct ftsc_policy* p = ctx->policy;
  long nr = call->nr;
  bool known = nr >= 0 && (unsigned long)nr < FTSC_NR_LIMIT;
  const struct ftsc_syscall* sc = known ? &p->syscalls[nr] : NULL;
  const struct ftsc_schedule* s;
  struct ftsc_verdict d;
  unsigned int index;
  uint32_t n_delays;
  int64_t elapsed, remaining = FTSC_INT64_MAX, delay;
  uint8_t cell;

  if (sc && (sc->flags & FTSC_SC_NEVER_RETRY))
    return give_back(FTSC_R_NEVER_RETRY_SYSCALL);
  if (ftsc_is_program_bug_errno(err))
    return give_back(FTSC_R_PROGRAM_BUG);

  cell = ftsc_policy_cell(p, nr, err);
  switch (FTSC_CELL_DECISION(cell)) {
    case FTSC_UNSET:
      return give_back(FTSC_R_NO_RULE);
    case FTSC_NEVER:
      return give_back(FTSC_R_POLICY_NEVER);
    case FTSC_UNDECIDED:
      return give_back(FTSC_R_UNDECIDED);
    default:
      break;
  }

  if (sc && ftsc_is_protocol_errno(sc, err)) {
    uint16_t unknown = 0;
    int32_t why = 0;
    uint16_t guard = protocol_guard(sc, args, probe, &unknown, &why);

    if (guard) {
      d = give_back(FTSC_R_PROTOCOL);
      d.guard = guard;
      return d;
    }
    if (unknown) {
      d = give_back(FTSC_R_GUARD_UNKNOWN);
      d.guard = unknown;
      d.probe_error = why;
      return d;
    }
  }

  index = FTSC_CELL_SCHEDULE(cell);
  if (index >= p->n_schedules || index >= FTSC_SCHEDULES_MAX)
    return give_back(FTSC_R_SCHEDULE_EXHAUSTED);
  s = &p->schedules[index];
  n_delays = s->n_delays < FTSC_DELAYS_MAX ? s->n_delays : FTSC_DELAYS_MAX;
  if (call->retries >= n_delays)
    return give_back(FTSC_R_SCHEDULE_EXHAUSTED);

  elapsed = now_ns > call->first_failure_ns ? now_ns - call->first_failure_ns : 0;
  if (s->deadline_ns != 0) {
    uint64_t deadline = s->deadline_ns < FTSC_MAX_DELAY_NS ? s->deadline_ns : FTSC_MAX_DELAY_NS;

    if ((uint64_t)elapsed >= deadline)
      return give_back(FTSC_R_DEADLINE);
    remaining = (int64_t)deadline - elapsed;
  }
  delay = next_delay(call, s);
  if (delay > remaining)
    delay = remaining;

  if (ctx->observe) {
    d = give_back(FTSC_R_OBSERVE);
    d.delay_ns = delay;
    return d;
  }
  if (call->budget) {
    enum ftsc_charge c =
        ftsc_budget_charge(call->budget, now_ns, delay, p->budget_window_ns, p->budget_max_wait_ns);

    if (c == FTSC_CHARGE_TRIPPED && ctx->stats)
      ftsc_stats_add(&ctx->stats->budget_trips, 1);
    if (c != FTSC_CHARGE_OK) {
      d = give_back(FTSC_R_BUDGET);
      d.delay_ns = delay;
      return d;
    }
  }
  d = give_back(FTSC_R_RETRY);
  d.retry = true;
  d.delay_ns = delay;
  return d;
}

struct ftsc_verdict ftsc_call_result(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call,
                                     const uint64_t args[6], long result,
                                     const struct ftsc_probe* probe, int64_t now_ns) {
  bool injected = call->pending_inject != 0;
  bool failed = result < 0 && result >= -FTSC_MAX_ERRNO;
  int err = failed ? (int)-result : 0;
  struct ftsc_verdict d;

  call->pending_inject = 0;
  ++call->attempts;

  if (!failed || err >= FTSC_FIRST_INTERNAL_ERRNO) {
    /* A success, or a restart code the program never sees: only a
     * call that failed before has anything to count (this attempt
     * was a retry). */
    enum ftsc_reason reason = failed ? FTSC_R_RESTART_CODE : FTSC_R_SUCCESS;

    if (call->first_errno != 0 && call->slot) {
      ftsc_stats_add(&call->slot->attempts, 1);
      ftsc_stats_add(&call->slot->retries, 1);
    }
    if (call->first_errno != 0)
      count_end(call, reason);
    return give_back(reason);
  }

  if (call->first_errno == 0) {
    call->first_errno = err;
    call->first_failure_ns = now_ns;
    if (ctx->stats && call->nr >= 0) {
      long row = (call->flags & FTSC_CALL_ASYNC) ? (call->nr | FTSC_STATS_ASYNC) : call->nr;

      call->slot = ftsc_stats_slot_for(ctx->stats, row, err);
      if (call->slot) {
        ftsc_stats_add(&call->slot->calls, 1);
        ftsc_stats_add(&call->slot->in_flight, 1);
      }
    }
  } else if (call->slot) {
    ftsc_stats_add(&call->slot->retries, 1);
  }
  if (call->slot) {
    ftsc_stats_add(&call->slot->attempts, 1);
    if (injected)
      ftsc_stats_add(&call->slot->injected, 1);
  }
  call->last_errno = err;

  d = decide_failure(ctx, call, args, err, probe, now_ns);
  if (d.retry)
    ++call->retries;
  else
    count_end(call, (enum ftsc_reason)d.reason);
  return d;
}

void ftsc_call_waited(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call,
                      int64_t waited_ns) {
  (void)ctx;
  if (waited_ns < 0)
    waited_ns = 0;
  call->waited_ns += waited_ns;
  if (call->slot)
    ftsc_stats_add(&call->slot->wait_ns, (uint64_t)waited_ns);
}

struct ftsc_verdict ftsc_call_interrupted(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call,
                                          int64_t waited_ns) {
  ftsc_call_waited(ctx, call, waited_ns);
  count_end(call, FTSC_R_INTERRUPTED);
  return give_back(FTSC_R_INTERRUPTED);
}

struct ftsc_verdict ftsc_call_cannot_wait(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call,
                                          int64_t waited_ns) {
  ftsc_call_waited(ctx, call, waited_ns);
  count_end(call, FTSC_R_CANNOT_WAIT);
  return give_back(FTSC_R_CANNOT_WAIT);
}

struct ftsc_verdict ftsc_call_detached(const struct ftsc_decide_ctx* ctx, struct ftsc_call* call,
                                       int64_t waited_ns) {
  ftsc_call_waited(ctx, call, waited_ns);
  count_end(call, FTSC_R_DETACHED);
  return give_back(FTSC_R_DETACHED);
}
