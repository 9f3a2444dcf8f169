/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * Retry statistics per (syscall, errno), in a fixed-size table that lives in
 * ordinary memory (ptrace supervisor), in a shared mapping written by every
 * process of a run (preload library), or in the kernel module. Counters are
 * updated with relaxed atomic adds, slots are claimed with one compare-and-swap,
 * so the table can be written from signal handlers and many processes at once
 * without locks or allocation.
 *
 * A call is counted under the errno of its first failed attempt, and ends in
 * exactly one of recovered, gave_up, passed, would_retry and budget:
 *   calls      calls whose first attempt failed with errno (failures seen)
 *   attempts   attempts those calls made (first attempts + retries)
 *   retries    re-executions
 *   recovered  calls that finally succeeded after at least one retry
 *   gave_up    calls that retried and still returned an error (schedule exhausted,
 *              deadline, or a signal ended the wait)
 *   passed     calls returned at once: no rule, a `never` rule, or a guard
 *   would_retry calls observe mode (or --dry-run) would have retried
 *   budget     calls the spent retry budget stopped, at their first failure or
 *              after earlier retries
 *   interrupted calls whose wait a signal ended (a subset of gave_up)
 *   guard_unknown calls not retried because a guard that decides whether the
 *              errno is the program's own protocol could not be checked (fail
 *              closed; a subset of passed and gave_up)
 *   in_flight  calls counted but not ended yet: waiting between attempts, or
 *              abandoned when their thread died during the wait (an in-process
 *              engine's thread that exit_group or SIGKILL ends cannot end its
 *              call); calls = recovered + gave_up + passed + would_retry +
 *              budget + in_flight at every moment
 *   injected   attempts failed by injection instead of being executed
 *   wait_ns    time spent waiting between attempts
 */
#ifndef FTSC_ABI_STATS_H
#define FTSC_ABI_STATS_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define FTSC_STATS_MAGIC 0x5354415443535446ULL /* "FTSCSTAT" */
#define FTSC_STATS_VERSION 2u
#define FTSC_STATS_SLOTS 1024u /* a power of two */

/* Slot key: (nr << 12 | errno) + 1, so that 0 marks a free slot. */
#define FTSC_STATS_KEY(nr, err) \
  ((uint32_t)((((uint32_t)(nr)) << 12) | ((uint32_t)(err)&0xfffu)) + 1u)
#define FTSC_STATS_KEY_NR(key) ((int)(((key)-1u) >> 12))
#define FTSC_STATS_KEY_ERRNO(key) ((int)(((key)-1u) & 0xfffu))

/* A row of the form "connect (async)": calls whose outcome the program learnt
 * later than from the call itself (a non-blocking connect's EINPROGRESS, then
 * SO_ERROR or a second connect) are counted under (nr | FTSC_STATS_ASYNC,
 * errno), apart from the calls that failed at once. Syscall numbers stay below
 * FTSC_NR_LIMIT (1024), far under this bit; the table's layout is unchanged,
 * and an engine that never sets the bit (an older kernel module) writes the
 * same table as before. */
#define FTSC_STATS_ASYNC 0x80000

struct ftsc_stats_slot {
  uint32_t key;
  uint32_t reserved;
  uint64_t calls;
  uint64_t attempts;
  uint64_t retries;
  uint64_t recovered;
  uint64_t gave_up;
  uint64_t passed;
  uint64_t would_retry;
  uint64_t budget;
  uint64_t interrupted;
  uint64_t injected;
  uint64_t wait_ns;
  uint64_t guard_unknown;
  uint64_t in_flight;
};

struct ftsc_stats {
  uint64_t magic;        /* FTSC_STATS_MAGIC */
  uint32_t version;      /* FTSC_STATS_VERSION */
  uint32_t n_slots;      /* FTSC_STATS_SLOTS */
  uint64_t dropped;      /* calls not counted because every slot was taken */
  uint64_t budget_trips; /* times a process's retry budget ran out */
  struct ftsc_stats_slot slots[FTSC_STATS_SLOTS];
};

#ifdef __cplusplus
static_assert(sizeof(struct ftsc_stats_slot) == 112, "ftsc_stats_slot layout changed");
static_assert(sizeof(struct ftsc_stats) == 32 + 112 * 1024, "ftsc_stats layout changed");
#else
_Static_assert(sizeof(struct ftsc_stats_slot) == 112, "ftsc_stats_slot layout changed");
_Static_assert(sizeof(struct ftsc_stats) == 32 + 112 * 1024, "ftsc_stats layout changed");
#endif

static inline void ftsc_stats_init(struct ftsc_stats* s) {
  s->magic = FTSC_STATS_MAGIC;
  s->version = FTSC_STATS_VERSION;
  s->n_slots = FTSC_STATS_SLOTS;
  s->dropped = 0;
  s->budget_trips = 0;
  /* Not `= {0}`: C++ warns about the members it leaves to zero-initialisation. */
  __builtin_memset(s->slots, 0, sizeof(s->slots));
}

/* The slot for (nr, err), claimed on first use; NULL (and `dropped` counted) when full.
 * NULL (not counted) for a pair the key cannot hold: nr outside 0..2^20-2 or err
 * outside 0..4095 would alias another pair's key or wrap to 0, the free marker. */
static inline struct ftsc_stats_slot* ftsc_stats_slot_for(struct ftsc_stats* s, long nr, long err) {
  uint32_t key, h, probe;
  if (nr < 0 || nr >= 0xfffffL || err < 0 || err > 0xfffL)
    return (struct ftsc_stats_slot*)0;
  key = FTSC_STATS_KEY(nr, err);
  h = (key * 2654435761u) & (FTSC_STATS_SLOTS - 1u);
  for (probe = 0; probe < FTSC_STATS_SLOTS; probe++) {
    struct ftsc_stats_slot* slot = &s->slots[(h + probe) & (FTSC_STATS_SLOTS - 1u)];
    uint32_t seen = __atomic_load_n(&slot->key, __ATOMIC_ACQUIRE);
    if (seen == key)
      return slot;
    if (seen == 0) {
      uint32_t expected = 0;
      if (__atomic_compare_exchange_n(&slot->key, &expected, key, 0, __ATOMIC_ACQ_REL,
                                      __ATOMIC_ACQUIRE))
        return slot;
      if (expected == key)
        return slot;
    }
  }
  __atomic_fetch_add(&s->dropped, 1, __ATOMIC_RELAXED);
  return (struct ftsc_stats_slot*)0;
}

static inline void ftsc_stats_add(uint64_t* counter, uint64_t n) {
  __atomic_fetch_add(counter, n, __ATOMIC_RELAXED);
}

static inline void ftsc_stats_sub(uint64_t* counter, uint64_t n) {
  __atomic_fetch_sub(counter, n, __ATOMIC_RELAXED);
}

#endif /* FTSC_ABI_STATS_H */
