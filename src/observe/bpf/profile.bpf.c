/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The profiler's BPF program: counts syscalls and their failures in the kernel.
 *
 * How it works. Two BTF-typed tracepoint programs sit on the raw_syscalls
 * tracepoints, which every syscall of every task passes once tracing is on
 * (include/trace/events/syscalls.h). sys_exit sees the syscall number (the
 * orig_ax register, read through CO-RE so that the layout of struct pt_regs
 * comes from the running kernel's BTF) and the result. Every call adds one to
 * a per-CPU array slot indexed by the syscall number; a failed call (a result
 * in -4095..-1) also adds one to a per-CPU hash keyed by (task comm, syscall,
 * errno). So the common path is one array update, and only failures pay for
 * the comm and the hash. Calls that never return (exit, exit_group) are
 * counted at sys_enter. Userspace sums the per-CPU values when it reads.
 *
 * Which tasks count is fixed at load time (read-only constants, so that the
 * verifier drops the unused branches): all, a cgroup and its descendants
 * (bpf_current_task_under_cgroup), a comm, or a set of processes in the
 * `traced` map. A process enters that set when userspace names it: it writes
 * the pid as ftsc sees it (its own pid namespace) to `pending_nspid`, and the
 * process's next syscall finds itself with bpf_get_ns_current_pid_tgid and
 * stores its kernel-wide tgid. A started command is first UNTIL_EXEC (what it
 * does before execve is ftsc's own set-up) and becomes ACTIVE when execve
 * succeeds. sched_process_fork adds the children of members, and
 * sched_process_exit removes a process when its last thread ends.
 *
 * What the tracepoint sees is what the kernel returned, before signal
 * delivery: an interrupted call shows the internal restart codes (ERESTARTSYS
 * 512 ...), which the program then sees as EINTR or not at all. 32-bit calls
 * (int 0x80) are counted under their 32-bit numbers. */
/* The kernel's types first: libbpf's BPF headers use them. */
#include <linux/bpf.h>
#include <linux/types.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "profile_abi.h"

/* The few kernel types the program reads; CO-RE relocates the field offsets
 * against the running kernel's BTF, so only names and types matter here. */
struct pt_regs {
  unsigned long orig_ax;
} __attribute__((preserve_access_index));

typedef struct {
  int counter;
} atomic_t;

struct signal_struct {
  atomic_t live;
} __attribute__((preserve_access_index));

struct task_struct {
  int pid;
  int tgid;
  struct signal_struct* signal;
} __attribute__((preserve_access_index));

#define NR_EXECVE 59
#define NR_EXIT 60
#define NR_EXIT_GROUP 231
#define NR_EXECVEAT 322
#define MAX_ERRNO 4095

const volatile __u32 filter_mode = FTSC_PROFILE_FILTER_ALL;
const volatile char filter_comm[FTSC_PROFILE_COMM_LEN] = {};
const volatile __u64 pidns_dev = 0;
const volatile __u64 pidns_ino = 0;
/* ftsc's own process (kernel-wide tgid; 0 when unknown), whose reads of the
 * maps are not part of any profile. */
const volatile __u32 self_tgid = 0;

/* A process to add to `traced` (as ftsc's pid namespace numbers it), and the
 * state it starts in; 0 when none is waiting. */
__u32 pending_nspid = 0;
__u32 pending_state = 0;
/* Failures not counted because the `failures` map was full, and calls with
 * numbers beyond FTSC_PROFILE_MAX_NR. */
__u64 dropped = 0;
__u64 uncounted = 0;

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, FTSC_PROFILE_MAX_NR);
  __type(key, __u32);
  __type(value, __u64);
} calls SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_HASH);
  __uint(max_entries, 16384); /* set by the loader */
  __type(key, struct ftsc_profile_failure_key);
  __type(value, __u64);
} failures SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 32768);
  __type(key, __u32);
  __type(value, __u32);
} traced SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} filter_cgroup SEC(".maps");

/* The `traced` state of the current process, adding it first when it is the
 * pending one; 0 when it is not traced. */
static __always_inline __u32 traced_state(void) {
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  __u32* state = bpf_map_lookup_elem(&traced, &tgid);
  if (state)
    return *state;
  __u32 want = pending_nspid;
  if (want == 0)
    return 0;
  struct bpf_pidns_info ns = {};
  if (bpf_get_ns_current_pid_tgid(pidns_dev, pidns_ino, &ns, sizeof ns) != 0 || ns.tgid != want)
    return 0;
  __u32 initial = pending_state;
  bpf_map_update_elem(&traced, &tgid, &initial, BPF_ANY);
  pending_nspid = 0;
  return initial;
}

static __always_inline int comm_matches(void) {
  char comm[FTSC_PROFILE_COMM_LEN];
  bpf_get_current_comm(comm, sizeof comm);
  for (int i = 0; i < FTSC_PROFILE_COMM_LEN; i++) {
    if (comm[i] != filter_comm[i])
      return 0;
    if (comm[i] == 0)
      return 1;
  }
  return 1;
}

/* Whether the current task counts; nr and ret let a process that waits for
 * its execve become active. */
static __always_inline int selected(long nr, long ret) {
  if (filter_mode != FTSC_PROFILE_FILTER_PIDS && self_tgid != 0 &&
      (bpf_get_current_pid_tgid() >> 32) == self_tgid)
    return 0;
  if (filter_mode == FTSC_PROFILE_FILTER_ALL)
    return 1;
  if (filter_mode == FTSC_PROFILE_FILTER_COMM)
    return comm_matches();
  if (filter_mode == FTSC_PROFILE_FILTER_CGROUP)
    return bpf_current_task_under_cgroup(&filter_cgroup, 0) == 1;
  __u32 state = traced_state();
  if (state == FTSC_PROFILE_ACTIVE)
    return 1;
  if (state == FTSC_PROFILE_UNTIL_EXEC && ret == 0 && (nr == NR_EXECVE || nr == NR_EXECVEAT)) {
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    __u32 active = FTSC_PROFILE_ACTIVE;
    bpf_map_update_elem(&traced, &tgid, &active, BPF_EXIST);
    return 1;
  }
  return 0;
}

static __always_inline void count_call(long nr) {
  if (nr < 0)
    return; /* a call skipped by seccomp or a tracer */
  if (nr >= FTSC_PROFILE_MAX_NR) {
    __sync_fetch_and_add(&uncounted, 1);
    return;
  }
  __u32 slot = nr;
  __u64* n = bpf_map_lookup_elem(&calls, &slot);
  if (n)
    *n += 1; /* per-CPU, and a program does not migrate while it runs */
}

static __always_inline void count_failure(long nr, long ret) {
  struct ftsc_profile_failure_key key = {};
  bpf_get_current_comm(key.comm, sizeof key.comm);
  key.nr = nr;
  key.err = -ret;
  __u64* n = bpf_map_lookup_elem(&failures, &key);
  if (n) {
    *n += 1;
    return;
  }
  __u64 one = 1;
  if (bpf_map_update_elem(&failures, &key, &one, BPF_NOEXIST) == 0)
    return;
  /* Another CPU may have created the entry meanwhile. */
  n = bpf_map_lookup_elem(&failures, &key);
  if (n)
    *n += 1;
  else
    __sync_fetch_and_add(&dropped, 1);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(ftsc_sys_exit, struct pt_regs* regs, long ret) {
  long nr = regs->orig_ax;
  if (!selected(nr, ret))
    return 0;
  count_call(nr);
  if (ret < 0 && ret >= -MAX_ERRNO && nr >= 0 && nr < FTSC_PROFILE_MAX_NR)
    count_failure(nr, ret);
  return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(ftsc_sys_enter, struct pt_regs* regs, long id) {
  if (id != NR_EXIT && id != NR_EXIT_GROUP)
    return 0;
  if (selected(id, -1))
    count_call(id);
  return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(ftsc_fork, struct task_struct* parent, struct task_struct* child) {
  __u32 parent_tgid = parent->tgid;
  __u32 child_tgid = child->tgid;
  if (parent_tgid == child_tgid)
    return 0; /* a thread: its process is already known */
  __u32* state = bpf_map_lookup_elem(&traced, &parent_tgid);
  if (!state)
    return 0;
  __u32 inherited = *state;
  bpf_map_update_elem(&traced, &child_tgid, &inherited, BPF_ANY);
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(ftsc_exit, struct task_struct* task) {
  if (BPF_CORE_READ(task, signal, live.counter) != 0)
    return 0; /* other threads of the process go on */
  __u32 tgid = task->tgid;
  bpf_map_delete_elem(&traced, &tgid);
  return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
