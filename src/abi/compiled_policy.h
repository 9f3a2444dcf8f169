/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The compiled policy: the one structure every ftsc engine reads.
 *
 * The policy compiler (src/policy/, C++) turns a policy (TOML, command-line rules, or an imported
 * retry matrix) into this flat, fixed-size, versioned block. The ptrace
 * supervisor keeps it in memory, the preload library maps it read-only from a
 * file, and the kernel module copies it in through its control file and
 * validates it with ftsc_policy_validate() before using it. Nothing in here
 * points anywhere: every reference is an index that the validator checks.
 *
 * Lookup is O(1): cells[nr][errno] holds the decision and the index of the
 * backoff schedule for that (syscall, errno) pair. Syscall numbers are the
 * x86_64 native ones (below FTSC_NR_LIMIT); errnos above FTSC_ERRNO_LIMIT are
 * never in a policy and look up as FTSC_UNSET.
 *
 * This header is plain C (C11 or the kernel's gnu11) so that the kernel module
 * can include it; the static inline helpers are the only implementation of
 * table lookup, injection matching and validation, shared by every engine.
 */
#ifndef FTSC_ABI_COMPILED_POLICY_H
#define FTSC_ABI_COMPILED_POLICY_H

#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/types.h>
#else
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#endif

#define FTSC_POLICY_MAGIC 0x314c4f5043535446ULL /* "FTSCPOL1", little-endian */
#define FTSC_POLICY_VERSION 1u

#define FTSC_NR_LIMIT 512u     /* x86_64 native syscall numbers are below this */
#define FTSC_ERRNO_LIMIT 256u  /* policy errnos are below this (glibc's last is 133) */
#define FTSC_SCHEDULES_MAX 64u /* the cell keeps a 6-bit schedule index */
#define FTSC_DELAYS_MAX 32u    /* retries per call at most */
#define FTSC_INJECTS_MAX 32u
#define FTSC_ARG_NONE 0xffu
#define FTSC_COMM_LEN 16u    /* the kernel's TASK_COMM_LEN */
#define FTSC_CGROUP_LEN 256u /* a cgroup v2 path below the mount point */
#define FTSC_NONBLOCK_CMDS 2u
#define FTSC_PROTOCOL_ERRNOS 3u
/* The longest duration a policy holds (a delay, deadline, budget window or
 * budget): one day, as base::kMaxPolicyDuration. A blob that asks more is
 * refused, so that no engine sleeps for years on a hand-made block. */
#define FTSC_MAX_DURATION_NS 86400000000000ull
/* A non-blocking connect that a rule retries is connected again by the
 * engine, which waits for each new attempt until the rule's deadline, or at
 * most this long when the rule has none (docs/policy.md). */
#define FTSC_CONNECT_ATTEMPT_WAIT_NS 5000000000ull
/* An injection's errno: 1..511. 512 and above are the kernel's internal
 * restart codes (ERESTARTSYS ...), which a program must never see. */
#define FTSC_INJECT_ERRNO_MAX 511u

/* A cell: bits 0-1 the decision, bits 2-7 the schedule index. */
enum ftsc_decision {
  FTSC_UNSET = 0,     /* no rule: never retried */
  FTSC_RETRY = 1,     /* retry with cells' schedule */
  FTSC_NEVER = 2,     /* a rule says never */
  FTSC_UNDECIDED = 3, /* a `?` cell of a matrix: never retried, reported */
};
#define FTSC_CELL_DECISION(cell) ((unsigned)(cell)&3u)
#define FTSC_CELL_SCHEDULE(cell) ((unsigned)(cell) >> 2)
#define FTSC_CELL_MAKE(decision, schedule) ((uint8_t)(((schedule) << 2) | ((decision)&3u)))

/* ftsc_syscall.flags */
#define FTSC_SC_IN_POLICY (1u << 0)   /* some cell is RETRY: engines must watch it */
#define FTSC_SC_INJECT (1u << 1)      /* an injection names it: engines must watch it */
#define FTSC_SC_NEVER_RETRY (1u << 2) /* close, exit, rt_sigreturn ...: never retried */
/* Guards: when one holds, the syscall's protocol errnos are the program's own
 * protocol (a non-blocking call that would block, a timed wait that timed
 * out), never a fault, and pass through. */
#define FTSC_SC_GUARD_NONBLOCK_FD (1u << 3)    /* the fd argument has O_NONBLOCK */
#define FTSC_SC_GUARD_NONBLOCK_FLAGS (1u << 4) /* flags argument & nonblock_mask != 0 */
#define FTSC_SC_GUARD_NONBLOCK_CMD (1u << 5)   /* flags argument equals a nonblock_cmds value */
#define FTSC_SC_GUARD_SOCK_RCVTIMEO (1u << 6)  /* the fd is a socket with SO_RCVTIMEO set */
#define FTSC_SC_GUARD_SOCK_SNDTIMEO (1u << 7)  /* the fd is a socket with SO_SNDTIMEO set */
#define FTSC_SC_GUARD_TIMEOUT_ARG (1u << 8)    /* the timeout argument is not NULL */
#define FTSC_SC_GUARD_ALWAYS (1u << 9)         /* protocol errnos are always protocol */
#define FTSC_SC_GUARDS                                                                     \
  (FTSC_SC_GUARD_NONBLOCK_FD | FTSC_SC_GUARD_NONBLOCK_FLAGS | FTSC_SC_GUARD_NONBLOCK_CMD | \
   FTSC_SC_GUARD_SOCK_RCVTIMEO | FTSC_SC_GUARD_SOCK_SNDTIMEO | FTSC_SC_GUARD_TIMEOUT_ARG | \
   FTSC_SC_GUARD_ALWAYS)

/* What engines need to know about one syscall, from the knowledge base. */
struct ftsc_syscall {
  uint16_t flags;      /* FTSC_SC_* */
  uint8_t fd_arg;      /* argument index (0-5) holding the fd, or FTSC_ARG_NONE */
  uint8_t flags_arg;   /* argument index holding flags or a command, or FTSC_ARG_NONE */
  uint8_t timeout_arg; /* argument index holding a timeout pointer, or FTSC_ARG_NONE */
  uint8_t protocol_errnos[FTSC_PROTOCOL_ERRNOS]; /* 0-terminated; e.g. EAGAIN, ETIMEDOUT */
  uint64_t nonblock_mask;                        /* flag bits meaning "do not block" */
  int32_t nonblock_cmds[FTSC_NONBLOCK_CMDS];     /* e.g. F_SETLK; unused slots are -1 */
};

/* ftsc_schedule: the delays before retry 1, 2, ... */
struct ftsc_schedule {
  uint32_t n_delays;    /* retries allowed: at most FTSC_DELAYS_MAX */
  uint32_t jitter_ppm;  /* each delay is drawn from [d*(1-j), d*(1+j)], j in millionths */
  uint64_t deadline_ns; /* 0: none; else no retry starts later than this after the first failure */
  uint64_t delay_ns[FTSC_DELAYS_MAX];
};

/* ftsc_inject.flags */
#define FTSC_INJ_PROBABILITY (1u << 0) /* p_scaled applies */

/* One injection: attempts first, first+step, ... up to last of syscall nr
 * (counted per syscall per process, from 1) fail with `error` without being
 * executed; with FTSC_INJ_PROBABILITY only a seeded random share of them. */
struct ftsc_inject {
  uint16_t nr;
  uint16_t error;
  uint32_t flags;
  uint32_t first;
  uint32_t last; /* UINT32_MAX: no end */
  uint32_t step;
  uint32_t p_scaled; /* probability * 2^32, saturated to UINT32_MAX for p = 1 */
  uint64_t seed;
};

/* ftsc_target.flags: which criteria the system-wide engine matches (all given must match). */
#define FTSC_TARGET_ALL (1u << 0)
#define FTSC_TARGET_UID (1u << 1)
#define FTSC_TARGET_PID (1u << 2)
#define FTSC_TARGET_COMM (1u << 3)
#define FTSC_TARGET_CGROUP (1u << 4)

struct ftsc_target {
  uint32_t flags;
  uint32_t uid;
  int32_t pid; /* a thread group id */
  uint32_t reserved;
  char comm[FTSC_COMM_LEN];     /* NUL-terminated */
  char cgroup[FTSC_CGROUP_LEN]; /* NUL-terminated, relative to the cgroup2 root, leading '/' */
};

/* ftsc_policy.flags */
#define FTSC_POLICY_OBSERVE (1u << 0) /* decide and count, never wait or retry */

struct ftsc_policy {
  uint64_t magic;   /* FTSC_POLICY_MAGIC */
  uint32_t version; /* FTSC_POLICY_VERSION */
  uint32_t size;    /* sizeof(struct ftsc_policy) */
  uint32_t flags;   /* FTSC_POLICY_* */
  uint32_t n_schedules;
  uint32_t n_injects;
  uint32_t reserved;
  uint64_t budget_window_ns;   /* circuit breaker: per process, within this window ... */
  uint64_t budget_max_wait_ns; /* ... at most this much time is spent waiting */
  struct ftsc_target target;
  struct ftsc_syscall syscalls[FTSC_NR_LIMIT];
  struct ftsc_schedule schedules[FTSC_SCHEDULES_MAX];
  struct ftsc_inject injects[FTSC_INJECTS_MAX];
  uint8_t cells[FTSC_NR_LIMIT][FTSC_ERRNO_LIMIT];
};

#ifdef __cplusplus
#define FTSC_STATIC_ASSERT static_assert
#else
#define FTSC_STATIC_ASSERT _Static_assert
#endif
FTSC_STATIC_ASSERT(sizeof(struct ftsc_syscall) == 24, "ftsc_syscall layout changed");
FTSC_STATIC_ASSERT(sizeof(struct ftsc_schedule) == 272, "ftsc_schedule layout changed");
FTSC_STATIC_ASSERT(sizeof(struct ftsc_inject) == 32, "ftsc_inject layout changed");
FTSC_STATIC_ASSERT(sizeof(struct ftsc_target) == 288, "ftsc_target layout changed");
FTSC_STATIC_ASSERT(sizeof(struct ftsc_policy) ==
                       48 + 288 + 512 * 24 + 64 * 272 + 32 * 32 + 512 * 256,
                   "ftsc_policy layout changed: bump FTSC_POLICY_VERSION");

/* O(1) lookup of the cell for (nr, err); err is positive. */
static inline uint8_t ftsc_policy_cell(const struct ftsc_policy* p, long nr, long err) {
  if (nr < 0 || (unsigned long)nr >= FTSC_NR_LIMIT || err <= 0 ||
      (unsigned long)err >= FTSC_ERRNO_LIMIT)
    return FTSC_UNSET;
  return p->cells[nr][err];
}

/* splitmix64: the seeded hash behind `p=` injections, the same in every engine. */
static inline uint64_t ftsc_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* Does injection i fire on attempt `attempt` (1-based, per syscall per process)? */
static inline int ftsc_inject_fires(const struct ftsc_inject* in, uint64_t attempt) {
  if (attempt < in->first || attempt > in->last)
    return 0;
  if ((attempt - in->first) % in->step != 0)
    return 0;
  if (in->flags & FTSC_INJ_PROBABILITY) {
    uint64_t h = ftsc_mix64(in->seed ^ ftsc_mix64(((uint64_t)in->nr << 48) ^ attempt));
    if ((uint32_t)(h >> 32) >= in->p_scaled && in->p_scaled != 0xffffffffu)
      return 0;
  }
  return 1;
}

/* The errno to inject into attempt `attempt` of syscall nr, or 0 for none.
 * The first matching injection in plan order wins. */
static inline int ftsc_policy_inject(const struct ftsc_policy* p, long nr, uint64_t attempt) {
  uint32_t i;
  if (nr < 0 || (unsigned long)nr >= FTSC_NR_LIMIT || !(p->syscalls[nr].flags & FTSC_SC_INJECT))
    return 0;
  for (i = 0; i < p->n_injects && i < FTSC_INJECTS_MAX; i++) {
    if (p->injects[i].nr == nr && ftsc_inject_fires(&p->injects[i], attempt))
      return p->injects[i].error;
  }
  return 0;
}

/* Errors that always mean a bug in the program: never retried, whatever a policy says. */
static inline int ftsc_is_program_bug_errno(long err) {
  return err == EFAULT || err == EBADF || err == ENOSYS;
}

/* Can err be the outcome of a non-blocking connect, read later from
 * SO_ERROR (not connect's own EINPROGRESS, EALREADY, EAGAIN)? */
static inline int ftsc_is_connect_outcome_errno(long err) {
  return err > 0 && err != EINPROGRESS && err != EALREADY && err != EAGAIN;
}

/* Does the policy retry connect (syscall connect_nr) with an errno that a
 * non-blocking connect can end with? Then non-blocking connects are worth
 * remembering (docs/engines.md, "Non-blocking connects"). */
static inline int ftsc_policy_retries_async_connect(const struct ftsc_policy* p, long connect_nr) {
  unsigned err;
  for (err = 1; err < FTSC_ERRNO_LIMIT; err++)
    if (ftsc_is_connect_outcome_errno(err) &&
        FTSC_CELL_DECISION(ftsc_policy_cell(p, connect_nr, err)) == FTSC_RETRY)
      return 1;
  return 0;
}

/* Is err one of the syscall's protocol errnos (subject to its guards)? */
static inline int ftsc_is_protocol_errno(const struct ftsc_syscall* sc, long err) {
  unsigned i;
  for (i = 0; i < FTSC_PROTOCOL_ERRNOS && sc->protocol_errnos[i]; i++)
    if (sc->protocol_errnos[i] == err)
      return 1;
  return 0;
}

/* Validation results; ftsc_policy_validate_message() names each. */
enum ftsc_policy_invalid {
  FTSC_POLICY_OK = 0,
  FTSC_POLICY_BAD_LENGTH = 1,
  FTSC_POLICY_BAD_MAGIC = 2,
  FTSC_POLICY_BAD_VERSION = 3,
  FTSC_POLICY_BAD_SIZE = 4,
  FTSC_POLICY_BAD_COUNTS = 5,
  FTSC_POLICY_BAD_SCHEDULE = 6,
  FTSC_POLICY_BAD_CELL = 7,
  FTSC_POLICY_BAD_INJECT = 8,
  FTSC_POLICY_BAD_SYSCALL = 9,
  FTSC_POLICY_BAD_TARGET = 10,
  FTSC_POLICY_BAD_DURATION = 11,
  FTSC_POLICY_BAD_INJECT_ERRNO = 12,
  FTSC_POLICY_BAD_TARGET_ALL = 13,
};

static inline const char* ftsc_policy_validate_message(int code) {
  switch (code) {
    case FTSC_POLICY_OK:
      return "valid";
    case FTSC_POLICY_BAD_LENGTH:
      return "blob length does not match the compiled policy size";
    case FTSC_POLICY_BAD_MAGIC:
      return "not a compiled ftsc policy (bad magic)";
    case FTSC_POLICY_BAD_VERSION:
      return "compiled policy has another ABI version";
    case FTSC_POLICY_BAD_SIZE:
      return "compiled policy size field is wrong";
    case FTSC_POLICY_BAD_COUNTS:
      return "schedule or injection count out of range";
    case FTSC_POLICY_BAD_SCHEDULE:
      return "a backoff schedule is out of range";
    case FTSC_POLICY_BAD_CELL:
      return "a cell refers to a schedule that does not exist";
    case FTSC_POLICY_BAD_INJECT:
      return "an injection is out of range";
    case FTSC_POLICY_BAD_SYSCALL:
      return "a syscall entry is out of range";
    case FTSC_POLICY_BAD_TARGET:
      return "the target section is malformed";
    case FTSC_POLICY_BAD_DURATION:
      return "a delay, deadline or budget setting is longer than one day";
    case FTSC_POLICY_BAD_INJECT_ERRNO:
      return "an injection's errno is not 1..511 (512 and above are kernel-internal restart codes)";
    case FTSC_POLICY_BAD_TARGET_ALL:
      return "the target combines 'all' with other criteria";
    default:
      return "unknown validation error";
  }
}

/* Checks every field a consumer indexes with, and every value userspace would have refused
 * (a duration above a day, an injected errno of 512 or above, `all` with other target
 * criteria); trusts nothing. Returns FTSC_POLICY_OK or an ftsc_policy_invalid code. len is
 * the number of bytes the caller has. */
static inline int ftsc_policy_validate(const struct ftsc_policy* p, uint64_t len) {
  uint32_t i, j;
  if (len != sizeof(*p))
    return FTSC_POLICY_BAD_LENGTH;
  if (p->magic != FTSC_POLICY_MAGIC)
    return FTSC_POLICY_BAD_MAGIC;
  if (p->version != FTSC_POLICY_VERSION)
    return FTSC_POLICY_BAD_VERSION;
  if (p->size != sizeof(*p))
    return FTSC_POLICY_BAD_SIZE;
  if (p->n_schedules > FTSC_SCHEDULES_MAX || p->n_injects > FTSC_INJECTS_MAX)
    return FTSC_POLICY_BAD_COUNTS;
  for (i = 0; i < p->n_schedules; i++) {
    const struct ftsc_schedule* s = &p->schedules[i];
    if (s->n_delays > FTSC_DELAYS_MAX || s->jitter_ppm > 1000000u)
      return FTSC_POLICY_BAD_SCHEDULE;
    if (s->deadline_ns > FTSC_MAX_DURATION_NS)
      return FTSC_POLICY_BAD_DURATION;
    for (j = 0; j < s->n_delays; j++)
      if (s->delay_ns[j] > FTSC_MAX_DURATION_NS)
        return FTSC_POLICY_BAD_DURATION;
  }
  if (p->budget_window_ns > FTSC_MAX_DURATION_NS || p->budget_max_wait_ns > FTSC_MAX_DURATION_NS)
    return FTSC_POLICY_BAD_DURATION;
  for (i = 0; i < FTSC_NR_LIMIT; i++) {
    const struct ftsc_syscall* sc = &p->syscalls[i];
    if ((sc->fd_arg > 5 && sc->fd_arg != FTSC_ARG_NONE) ||
        (sc->flags_arg > 5 && sc->flags_arg != FTSC_ARG_NONE) ||
        (sc->timeout_arg > 5 && sc->timeout_arg != FTSC_ARG_NONE))
      return FTSC_POLICY_BAD_SYSCALL;
    for (j = 0; j < FTSC_ERRNO_LIMIT; j++) {
      uint8_t c = p->cells[i][j];
      if (FTSC_CELL_DECISION(c) == FTSC_RETRY && FTSC_CELL_SCHEDULE(c) >= p->n_schedules)
        return FTSC_POLICY_BAD_CELL;
    }
  }
  for (i = 0; i < p->n_injects; i++) {
    const struct ftsc_inject* in = &p->injects[i];
    if (in->nr >= FTSC_NR_LIMIT || in->first == 0 || in->step == 0 || in->last < in->first)
      return FTSC_POLICY_BAD_INJECT;
    if (in->error == 0 || in->error > FTSC_INJECT_ERRNO_MAX)
      return FTSC_POLICY_BAD_INJECT_ERRNO;
  }
  if (p->target.comm[FTSC_COMM_LEN - 1] != '\0' || p->target.cgroup[FTSC_CGROUP_LEN - 1] != '\0' ||
      (p->target.flags & ~0x1fu) != 0)
    return FTSC_POLICY_BAD_TARGET;
  /* `all` is the explicit "everything": userspace refuses it with other criteria. */
  if ((p->target.flags & FTSC_TARGET_ALL) && p->target.flags != FTSC_TARGET_ALL)
    return FTSC_POLICY_BAD_TARGET_ALL;
  return FTSC_POLICY_OK;
}

#endif /* FTSC_ABI_COMPILED_POLICY_H */
