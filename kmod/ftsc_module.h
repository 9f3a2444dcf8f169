/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the parts of the ftsc module share: the loaded policy (a reference-
 * counted state object), the hooks, the control files. ftsc_main.c explains
 * the mechanism as a whole.
 */
#ifndef FTSC_KMOD_MODULE_H
#define FTSC_KMOD_MODULE_H

#include <linux/bitmap.h>
#include <linux/cred.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "abi/compiled_policy.h"
#include "abi/stats.h"

#define FTSC_MODULE_NAME "ftsc"

/* Per-process records (circuit breaker, injection counters) per policy. */
#define FTSC_PROCS 512

/* A process, as the per-process state knows it. */
struct ftsc_proc {
	pid_t tgid;		/* 0: a free record */
	u64 start;		/* the thread group leader's start_boottime */
	u64 budget;		/* the circuit breaker word (ftsc_budget_charge) */
	u64 attempts[FTSC_INJECTS_MAX];	/* `when=` counters, by injection slot */
};

/*
 * A loaded policy. The control file builds one per load and publishes it in
 * ftsc_current (RCU); a call in flight holds a reference from entry to return,
 * so that replacing or detaching the policy never frees what a sleeping call
 * still reads. The last reference frees it after an RCU grace period.
 */
struct ftsc_state {
	refcount_t ref;
	struct rcu_work free_work;
	struct list_head node;		/* in the list of live states */
	struct ftsc_policy *policy;	/* validated copy of the blob */
	struct ftsc_stats *stats;
	bool observe;
	bool revoked;			/* detached: waits end at once; set on
					 * every live state, the current one and
					 * those replaced, by each detach */
	u64 id;				/* 1 for the first load, then 2, ... */
	u64 loaded_ns;			/* ktime_get_boottime_ns() at load */

	/* the target, resolved */
	u32 target_flags;		/* FTSC_TARGET_* */
	kuid_t uid;
	pid_t tgid;
	char comm[FTSC_COMM_LEN];
	struct cgroup *cgroup;		/* a reference, or NULL */

	/* the syscalls to hook: FTSC_SC_IN_POLICY or FTSC_SC_INJECT, with an
	 * entry point, and not FTSC_SC_NEVER_RETRY */
	DECLARE_BITMAP(watch, FTSC_NR_LIMIT);
	/* syscalls the policy names that this kernel cannot hook */
	DECLARE_BITMAP(unhookable, FTSC_NR_LIMIT);
	u8 inject_slot[FTSC_NR_LIMIT];	/* index into ftsc_proc.attempts, or 0xff */

	spinlock_t procs_lock;
	struct ftsc_proc *procs;	/* FTSC_PROCS records */
	atomic64_t procs_full;		/* calls that found no free record */
};

/* ftsc_state.c */
extern struct ftsc_state __rcu *ftsc_current;
extern struct mutex ftsc_mutex;
extern wait_queue_head_t ftsc_wait;
extern struct workqueue_struct *ftsc_wq;

struct ftsc_state *ftsc_state_create(const struct ftsc_policy *blob,
				     char *why, size_t why_len);
struct ftsc_state *ftsc_state_get_current(void);
void ftsc_states_revoke_all(void);
void ftsc_state_get(struct ftsc_state *st);
void ftsc_state_put(struct ftsc_state *st);
bool ftsc_target_matches(const struct ftsc_state *st);
struct ftsc_proc *ftsc_proc_lookup(struct ftsc_state *st);
u64 ftsc_proc_next_attempt(struct ftsc_state *st, struct ftsc_proc *proc,
			   long nr);

/* ftsc_entry.c */
/* The __x64_sys_* function of each syscall number, or 0; where the wrapper
 * calls it (past the ftrace site when that comes first). Set once at load. */
extern unsigned long ftsc_entry[FTSC_NR_LIMIT];
extern unsigned long ftsc_body[FTSC_NR_LIMIT];
int ftsc_entries_init(void);
bool ftsc_hookable(long nr);
bool ftsc_never_hooked(long nr);
int ftsc_syscall_name(long nr, char *buf, size_t len);

/* ftsc_hook.c */
int ftsc_hooks_add(const unsigned long *watch, char *why, size_t why_len);
void ftsc_hooks_remove_except(const unsigned long *keep);
bool ftsc_hooked(long nr);
int ftsc_hooks_unhook_error(void);

/* A call in flight, listed so that `status` can name what holds the module. */
struct ftsc_inflight {
	struct list_head node;
	struct task_struct *task;
	long nr;
	u64 policy_id;		/* the state it runs under; 0: none */
	bool waiting;		/* in a backoff wait (else in the syscall) */
};
typedef void (*ftsc_inflight_fn)(const struct ftsc_inflight *call, void *data);
void ftsc_inflight_each(ftsc_inflight_fn fn, void *data);
long ftsc_inflight_count(void);
void ftsc_calls_wait_idle(void);

/* ftsc_control.c */
int ftsc_control_init(void);
void ftsc_control_exit(void);
int ftsc_load(const struct ftsc_policy *blob, size_t len);
void ftsc_detach(void);
void ftsc_detach_all(void);

#endif /* FTSC_KMOD_MODULE_H */
