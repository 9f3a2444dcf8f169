// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* What the profiler's BPF program and its loader (bpf_collector.cc) share:
 * the map keys, the filter modes and the per-process states. Plain C with
 * fixed-width kernel types, so that clang -target bpf and g++ read it alike. */
#ifndef FTSC_PROFILE_BPF_PROFILE_ABI_H
#define FTSC_PROFILE_BPF_PROFILE_ABI_H

#include <linux/types.h>

#define FTSC_PROFILE_COMM_LEN 16
/* Syscall numbers below this are counted; x86_64 has fewer than 512, x32
 * numbers (bit 30 set) and others land in the `uncounted` counter. */
#define FTSC_PROFILE_MAX_NR 512

/* Which tasks are counted (the `filter_mode` constant of the program). */
enum ftsc_profile_filter {
  FTSC_PROFILE_FILTER_ALL = 0,    /* every task on the machine */
  FTSC_PROFILE_FILTER_PIDS = 1,   /* processes in the `traced` map and their descendants */
  FTSC_PROFILE_FILTER_COMM = 2,   /* tasks whose comm equals `filter_comm` */
  FTSC_PROFILE_FILTER_CGROUP = 3, /* tasks in the cgroup in `filter_cgroup` or below it */
};

/* Values of the `traced` map. */
enum ftsc_profile_state {
  /* A started command that has not yet executed: its calls are ftsc's own. */
  FTSC_PROFILE_UNTIL_EXEC = 1,
  FTSC_PROFILE_ACTIVE = 2,
};

/* Key of the `failures` map: one failed call of syscall nr with errno err by a
 * task named comm. */
struct ftsc_profile_failure_key {
  char comm[FTSC_PROFILE_COMM_LEN];
  __u32 nr;
  __u32 err;
};
#ifdef __cplusplus
static_assert(sizeof(struct ftsc_profile_failure_key) == 24, "failure key layout");
#else
_Static_assert(sizeof(struct ftsc_profile_failure_key) == 24, "failure key layout");
#endif

#endif
