// SPDX-License-Identifier: GPL-2.0-only
/*
 * The loaded policy as the hooks see it: a reference-counted state object
 * built from a validated blob, with the target resolved (the cgroup looked
 * up, the uid mapped), the set of syscalls to hook, and the per-process
 * records that the circuit breaker and the injection counters need.
 *
 * Readers take a reference under rcu_read_lock() and may then sleep (a
 * backoff wait): an RCU read-side section could not span the sleep, a
 * reference can. The last reference frees the state after an RCU grace
 * period, in process context (rcu_work), because freeing it puts a cgroup.
 *
 * Every live state is also on a list, so that a detach can revoke them all:
 * a call that started under a policy that was replaced since still sleeps
 * under that policy's state, and a detach must wake it as it wakes the
 * calls of the current one (an unload would otherwise wait out its backoff).
 */
#include <linux/cgroup.h>
#include <linux/err.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uidgid.h>
#include <linux/vmalloc.h>

#include "ftsc_module.h"

struct ftsc_state __rcu *ftsc_current;
DEFINE_MUTEX(ftsc_mutex);
DECLARE_WAIT_QUEUE_HEAD(ftsc_wait);
struct workqueue_struct *ftsc_wq;

static LIST_HEAD(ftsc_states);
static DEFINE_SPINLOCK(ftsc_states_lock);

static void ftsc_state_free(struct ftsc_state *st)
{
	spin_lock(&ftsc_states_lock);
	list_del_init(&st->node);
	spin_unlock(&ftsc_states_lock);
	if (st->cgroup)
		cgroup_put(st->cgroup);
	vfree(st->procs);
	vfree(st->stats);
	vfree(st->policy);
	kfree(st);
}

static void ftsc_state_free_work(struct work_struct *work)
{
	ftsc_state_free(container_of(to_rcu_work(work), struct ftsc_state,
				     free_work));
}

/*
 * Builds the state for a validated blob. On failure returns an ERR_PTR and
 * says why in `why` (the control file shows it to the loader).
 */
struct ftsc_state *ftsc_state_create(const struct ftsc_policy *blob,
				     char *why, size_t why_len)
{
	const struct ftsc_target *t = &blob->target;
	struct ftsc_state *st;
	unsigned int i, slots = 0;
	int err = -EINVAL;
	long nr;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		goto nomem;
	refcount_set(&st->ref, 1);
	INIT_RCU_WORK(&st->free_work, ftsc_state_free_work);
	INIT_LIST_HEAD(&st->node);
	spin_lock_init(&st->procs_lock);
	st->policy = vmalloc(sizeof(*st->policy));
	st->stats = vmalloc(sizeof(*st->stats));
	st->procs = vzalloc(sizeof(*st->procs) * FTSC_PROCS);
	if (!st->policy || !st->stats || !st->procs)
		goto nomem;
	memcpy(st->policy, blob, sizeof(*st->policy));
	ftsc_stats_init(st->stats);
	st->observe = blob->flags & FTSC_POLICY_OBSERVE;
	st->loaded_ns = ktime_get_boottime_ns();

	st->target_flags = t->flags;
	if (t->flags & FTSC_TARGET_UID) {
		st->uid = make_kuid(&init_user_ns, t->uid);
		if (!uid_valid(st->uid)) {
			snprintf(why, why_len, "target uid %u is not a valid user id",
				 t->uid);
			goto fail;
		}
	}
	if (t->flags & FTSC_TARGET_PID) {
		if (t->pid <= 0) {
			snprintf(why, why_len, "target pid %d is not a process id",
				 t->pid);
			goto fail;
		}
		st->tgid = t->pid;
	}
	if (t->flags & FTSC_TARGET_COMM)
		strscpy(st->comm, t->comm, sizeof(st->comm));
	if (t->flags & FTSC_TARGET_CGROUP) {
		struct cgroup *cg;

		if (t->cgroup[0] != '/') {
			snprintf(why, why_len,
				 "target cgroup '%.*s' is not an absolute path",
				 (int)FTSC_CGROUP_LEN, t->cgroup);
			goto fail;
		}
		cg = cgroup_get_from_path(t->cgroup);
		if (IS_ERR(cg)) {
			err = -ENOENT;
			snprintf(why, why_len,
				 "target cgroup '%.*s' does not exist (error %ld): create it first, below the cgroup2 mount point",
				 (int)FTSC_CGROUP_LEN, t->cgroup, PTR_ERR(cg));
			goto fail;
		}
		st->cgroup = cg;
	}

	memset(st->inject_slot, 0xff, sizeof(st->inject_slot));
	for (i = 0; i < blob->n_injects; i++) {
		nr = blob->injects[i].nr;
		if (st->inject_slot[nr] == 0xff && slots < FTSC_INJECTS_MAX)
			st->inject_slot[nr] = (u8)slots++;
	}
	for (nr = 0; nr < FTSC_NR_LIMIT; nr++) {
		u16 flags = blob->syscalls[nr].flags;

		if (!(flags & (FTSC_SC_IN_POLICY | FTSC_SC_INJECT)))
			continue;
		/* None of the never-retried syscalls is hooked, whatever the
		 * blob says: exit and exit_group never return, so a hook would
		 * leave its in-flight record on a freed stack and its module
		 * reference taken for good (ftsc_never_hooked()). */
		if ((flags & FTSC_SC_NEVER_RETRY) || ftsc_never_hooked(nr))
			continue;
		if (ftsc_hookable(nr))
			__set_bit(nr, st->watch);
		else
			__set_bit(nr, st->unhookable);
	}
	spin_lock(&ftsc_states_lock);
	list_add(&st->node, &ftsc_states);
	spin_unlock(&ftsc_states_lock);
	return st;

nomem:
	snprintf(why, why_len, "out of memory for a policy");
	err = -ENOMEM;
fail:
	if (st)
		ftsc_state_free(st);
	return ERR_PTR(err);
}

struct ftsc_state *ftsc_state_get_current(void)
{
	struct ftsc_state *st;

	rcu_read_lock();
	st = rcu_dereference(ftsc_current);
	if (st && !refcount_inc_not_zero(&st->ref))
		st = NULL;
	rcu_read_unlock();
	return st;
}

/*
 * Revokes every live state (the current one and any replaced one that calls
 * still hold) and wakes every backoff wait: each returns its last error.
 * Called by a detach, after ftsc_current was cleared, so that no call can
 * take a state that this misses.
 */
void ftsc_states_revoke_all(void)
{
	struct ftsc_state *st;

	spin_lock(&ftsc_states_lock);
	list_for_each_entry(st, &ftsc_states, node)
		WRITE_ONCE(st->revoked, true);
	spin_unlock(&ftsc_states_lock);
	wake_up_all(&ftsc_wait);
}

void ftsc_state_get(struct ftsc_state *st)
{
	refcount_inc(&st->ref);
}

void ftsc_state_put(struct ftsc_state *st)
{
	if (st && refcount_dec_and_test(&st->ref))
		queue_rcu_work(ftsc_wq, &st->free_work);
}

/*
 * Does the calling task belong to the target? Every criterion given must
 * match; no criterion matches nothing, so that a policy without a target
 * never changes the whole system by accident. Called from the ftrace
 * callback (preemption off) and from the wrapper.
 */
bool ftsc_target_matches(const struct ftsc_state *st)
{
	u32 f = st->target_flags;
	bool in_cgroup;

	/* `all` alone selects everything; the validator refuses it combined
	 * with other criteria, as userspace does, and were it given with them
	 * it would only narrow, never widen, what they select. */
	if (f == FTSC_TARGET_ALL)
		return true;
	if (!(f & ~FTSC_TARGET_ALL))
		return false;
	if ((f & FTSC_TARGET_UID) && !uid_eq(current_uid(), st->uid))
		return false;
	if ((f & FTSC_TARGET_PID) && task_tgid_nr(current) != st->tgid)
		return false;
	if ((f & FTSC_TARGET_COMM) &&
	    strncmp(current->group_leader->comm, st->comm, FTSC_COMM_LEN) != 0)
		return false;
	if (f & FTSC_TARGET_CGROUP) {
		rcu_read_lock();
		in_cgroup = task_under_cgroup_hierarchy(current, st->cgroup);
		rcu_read_unlock();
		if (!in_cgroup)
			return false;
	}
	return true;
}

static bool ftsc_proc_alive(const struct ftsc_proc *p)
{
	struct task_struct *leader;
	bool alive = false;

	rcu_read_lock();
	leader = pid_task(find_pid_ns(p->tgid, &init_pid_ns), PIDTYPE_TGID);
	if (leader && leader->start_boottime == p->start)
		alive = true;
	rcu_read_unlock();
	return alive;
}

/*
 * The calling process's record, claimed on first use; NULL when all records
 * belong to live processes (the call then runs without the circuit breaker
 * and without injections, and procs_full counts it). A record is reused only
 * once its process is gone, so a pointer a thread holds stays its own.
 */
struct ftsc_proc *ftsc_proc_lookup(struct ftsc_state *st)
{
	pid_t tgid = task_tgid_nr(current);
	u64 start = current->group_leader->start_boottime;
	unsigned int h = (unsigned int)tgid * 2654435761u % FTSC_PROCS;
	struct ftsc_proc *found = NULL, *free = NULL;
	unsigned int i;

	spin_lock(&st->procs_lock);
	for (i = 0; i < FTSC_PROCS; i++) {
		struct ftsc_proc *p = &st->procs[(h + i) % FTSC_PROCS];

		if (p->tgid == tgid && p->start == start) {
			found = p;
			break;
		}
		if (p->tgid == 0) {
			free = p;
			break;
		}
	}
	if (!found && !free) {
		for (i = 0; i < FTSC_PROCS; i++) {
			struct ftsc_proc *p = &st->procs[(h + i) % FTSC_PROCS];

			if (!ftsc_proc_alive(p)) {
				free = p;
				break;
			}
		}
	}
	if (!found && free) {
		memset(free, 0, sizeof(*free));
		free->tgid = tgid;
		free->start = start;
		found = free;
	}
	spin_unlock(&st->procs_lock);
	if (!found)
		atomic64_inc(&st->procs_full);
	return found;
}

/* The number of this attempt of syscall nr in the process (1, 2, ...). */
u64 ftsc_proc_next_attempt(struct ftsc_state *st, struct ftsc_proc *proc,
			   long nr)
{
	u8 slot;

	if (!proc || nr < 0 || nr >= FTSC_NR_LIMIT)
		return 0;
	slot = st->inject_slot[nr];
	if (slot >= FTSC_INJECTS_MAX)
		return 0;
	return __atomic_add_fetch(&proc->attempts[slot], 1, __ATOMIC_RELAXED);
}
