// SPDX-License-Identifier: GPL-2.0-only
/*
 * The hooks: an ftrace callback on the hooked __x64_sys_* entry points that
 * sends a targeted call to ftsc_syscall_wrapper(), and the wrapper, which
 * calls the original, decides with the shared retry decision
 * (src/decide/decide.c, compiled in as ftsc_decide.c), sleeps and calls again.
 * The entry points themselves are found by ftsc_entry.c.
 *
 * Redirecting a call. One ftrace_ops serves every hooked syscall: its filter
 * holds their entry points, and it is registered while any syscall is hooked,
 * with FTRACE_OPS_FL_SAVE_REGS (the callback sees and may change the
 * registers), FTRACE_OPS_FL_IPMODIFY (it changes regs->ip, and ftrace keeps
 * other IP modifiers such as live patches off the functions) and
 * FTRACE_OPS_FL_RECURSION (ftrace guards the callback against recursion).
 * kprobes manages its own IPMODIFY ops the same way. A new policy changes
 * the filter in place (ftrace_set_filter_ips()); only the last hook's removal
 * unregisters the ops (an empty filter would mean every function), so a
 * replacement costs no grace period. The callback takes the syscall number
 * from the syscall's user registers and leaves the call alone when the
 * traced function is not that number's entry point (another caller of the
 * function, or the x32 ABI), when the call comes from this module (the
 * wrapper calling the original: ftrace fires again there), when no policy
 * watches the syscall, or when the task is not in the target. Otherwise it
 * takes a module reference, counts the call and points regs->ip at the
 * wrapper, which ftrace "returns" into with the original arguments.
 *
 * The wrapper calls the original past its 5-byte ftrace site (a NOP, or the
 * call into ftrace's trampoline while a hook is on), as a tracer's own
 * trampoline would return to it: the callback would only let the call go
 * again. That needs the site to be the function's first instruction, as it
 * is without CONFIG_X86_KERNEL_IBT (no ENDBR64 in front); anything else and
 * the wrapper calls the function's start, where the callback, seeing a call
 * from this module, lets it through.
 *
 * Unloading safely. The reference that the callback takes is dropped by the
 * wrapper on its way out, so a module with calls in flight cannot be removed
 * (delete_module() fails instead of waiting). A forced removal (`rmmod -f`,
 * which CONFIG_MODULE_FORCE_UNLOAD allows) ignores those references, so the
 * module's exit does not rely on them: it detaches (which unregisters the
 * ops, and ftrace then waits until no task runs the callback or its
 * trampoline, and wakes every backoff wait), waits until the count of
 * redirected calls, taken in the callback, drops to zero (calls blocked in
 * the original syscall keep it waiting until they return), and then waits
 * for a tasks-RCU grace period, which covers a task preempted between the
 * wrapper's last instructions and its return.
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/ftrace.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <net/sock.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "decide/decide.h"
#include "ftsc_module.h"

typedef long (*ftsc_syscall_fn)(const struct pt_regs *regs);

/* The ftrace site lies this close to a function's start (an ENDBR64 may come
 * first); the callback's ip is the site's address. */
#define FTSC_SITE_SLACK 16

/*
 * The ftrace_ops of the hooks, registered while any syscall is hooked (its
 * filter holds their entry points), the hooked syscalls, and the error of the
 * last hook that could not be removed. Changed under ftsc_mutex only.
 */
static struct ftrace_ops *ftsc_ops;
static DECLARE_BITMAP(ftsc_hooked_set, FTSC_NR_LIMIT);
static int ftsc_unhook_err;
static bool ftsc_pinned;	/* a module reference taken for a stuck ops */
static unsigned long ftsc_ips[FTSC_NR_LIMIT];	/* scratch, under ftsc_mutex */

/* Calls the callback sent to the wrapper that have not returned yet. */
static atomic_long_t ftsc_calls = ATOMIC_LONG_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(ftsc_idle);

static DEFINE_SPINLOCK(ftsc_inflight_lock);
static LIST_HEAD(ftsc_inflight_list);
static long ftsc_inflight_n;

bool ftsc_hooked(long nr)
{
	return nr >= 0 && nr < FTSC_NR_LIMIT && test_bit(nr, ftsc_hooked_set);
}

int ftsc_hooks_unhook_error(void)
{
	return ftsc_unhook_err;
}


/* ---- calls in flight ---------------------------------------------------- */

static void ftsc_inflight_enter(struct ftsc_inflight *me, long nr,
				u64 policy_id)
{
	me->task = current;
	me->nr = nr;
	me->policy_id = policy_id;
	me->waiting = false;
	spin_lock(&ftsc_inflight_lock);
	list_add(&me->node, &ftsc_inflight_list);
	ftsc_inflight_n++;
	spin_unlock(&ftsc_inflight_lock);
}

static void ftsc_inflight_leave(struct ftsc_inflight *me)
{
	spin_lock(&ftsc_inflight_lock);
	list_del(&me->node);
	ftsc_inflight_n--;
	spin_unlock(&ftsc_inflight_lock);
}

/* Calls fn for each call in flight, under a spinlock: fn must not sleep. */
void ftsc_inflight_each(ftsc_inflight_fn fn, void *data)
{
	struct ftsc_inflight *c;

	spin_lock(&ftsc_inflight_lock);
	list_for_each_entry(c, &ftsc_inflight_list, node)
		fn(c, data);
	spin_unlock(&ftsc_inflight_lock);
}

long ftsc_inflight_count(void)
{
	long n;

	spin_lock(&ftsc_inflight_lock);
	n = ftsc_inflight_n;
	spin_unlock(&ftsc_inflight_lock);
	return n;
}

/*
 * Waits until every call the callback redirected has left the wrapper. Only a
 * forced removal finds any; those blocked in the original syscall keep it
 * waiting until they return (TASK_IDLE: not a hung task), and it says so.
 */
void ftsc_calls_wait_idle(void)
{
	long n;

	while ((n = atomic_long_read(&ftsc_calls)) != 0) {
		pr_info("ftsc: removed by force with %ld call(s) in flight: waiting for them to return\n",
			n);
		wait_event_idle_timeout(ftsc_idle,
					atomic_long_read(&ftsc_calls) == 0,
					10 * HZ);
	}
}

/* ---- the guards' run-time probes ---------------------------------------- */

/*
 * Each answers FTSC_PROBE_HOLDS, FTSC_PROBE_CLEAR or -errno (decide.h): an fd
 * that another thread closed since the call failed cannot be checked, and
 * the guard then counts as holding.
 */
static int ftsc_fd_nonblocking(void *data, int fd)
{
	struct fd f = fdget(fd);
	bool nonblocking;

	if (!f.file)
		return -EBADF;
	nonblocking = f.file->f_flags & O_NONBLOCK;
	fdput(f);
	return nonblocking ? FTSC_PROBE_HOLDS : FTSC_PROBE_CLEAR;
}

static int ftsc_socket_timeout(void *data, int fd, bool send)
{
	struct fd f = fdget(fd);
	struct socket *sock;
	bool set = false;

	if (!f.file)
		return -EBADF;
	sock = sock_from_file(f.file);
	if (sock && sock->sk) {
		long timeo = send ? READ_ONCE(sock->sk->sk_sndtimeo) :
				    READ_ONCE(sock->sk->sk_rcvtimeo);

		set = timeo != MAX_SCHEDULE_TIMEOUT;
	}
	fdput(f);
	return set ? FTSC_PROBE_HOLDS : FTSC_PROBE_CLEAR;
}

/* ---- the wrapper -------------------------------------------------------- */

static bool ftsc_failed(long ret)
{
	return ret < 0 && ret >= -4095;
}

/* Runs the call under the policy: the retry semantics of docs/design.md. */
static long ftsc_run_call(struct ftsc_state *st, long nr, ftsc_syscall_fn orig,
			  const struct pt_regs *regs, struct ftsc_inflight *me)
{
	const struct ftsc_decide_ctx ctx = {
		.policy = st->policy, .stats = st->stats, .observe = st->observe,
	};
	const struct ftsc_probe probe = {
		.fd_nonblocking = ftsc_fd_nonblocking,
		.socket_timeout = ftsc_socket_timeout,
	};
	/* The x86_64 syscall argument registers, in order. */
	const u64 args[6] = { regs->di, regs->si, regs->dx,
			      regs->r10, regs->r8, regs->r9 };
	bool injects = st->policy->syscalls[nr].flags & FTSC_SC_INJECT;
	struct ftsc_proc *proc = NULL;
	struct ftsc_verdict d;
	struct ftsc_call call;
	long ret, waited;
	u64 start;
	int inj, rc;

	if (injects)
		proc = ftsc_proc_lookup(st);
	ftsc_call_begin(&call, nr, NULL, 0);
	for (;;) {
		inj = 0;
		if (injects)
			inj = ftsc_call_inject(st->policy, &call,
					       ftsc_proc_next_attempt(st, proc, nr));
		ret = inj ? -inj : orig(regs);
		if (ftsc_failed(ret) && ret > -512 && call.first_errno == 0) {
			/* The first failure: now the breaker and the jitter's
			 * seed are worth looking up. */
			if (!proc)
				proc = ftsc_proc_lookup(st);
			call.budget = proc ? &proc->budget : NULL;
			call.rng = get_random_u64();
		}
		d = ftsc_call_result(&ctx, &call, args, ret, &probe,
				     ktime_get_ns());
		if (!d.retry)
			return ret;

		WRITE_ONCE(me->waiting, true);
		start = ktime_get_ns();
		rc = wait_event_interruptible_hrtimeout(ftsc_wait,
							READ_ONCE(st->revoked),
							ns_to_ktime(d.delay_ns));
		waited = ktime_get_ns() - start;
		WRITE_ONCE(me->waiting, false);
		if (rc == -ERESTARTSYS) {
			/* A pending signal ends the wait: the last error now. */
			ftsc_call_interrupted(&ctx, &call, waited);
			return ret;
		}
		if (rc == 0) {
			/* The policy was detached. */
			ftsc_call_detached(&ctx, &call, waited);
			return ret;
		}
		ftsc_call_waited(&ctx, &call, waited);
	}
}

/*
 * Where the callback sends a targeted call, with the original's argument:
 * the syscall's user registers. The callback took a module reference for it
 * and counted it in ftsc_calls.
 */
static long ftsc_syscall_wrapper(const struct pt_regs *regs)
{
	long nr = (long)regs->orig_ax;	/* checked by the callback */
	ftsc_syscall_fn orig = (ftsc_syscall_fn)ftsc_body[nr];
	struct ftsc_inflight me;
	struct ftsc_state *st;
	long ret;

	st = ftsc_state_get_current();
	if (st && !(test_bit(nr, st->watch) && ftsc_target_matches(st))) {
		ftsc_state_put(st);	/* replaced or detached meanwhile */
		st = NULL;
	}
	ftsc_inflight_enter(&me, nr, st ? st->id : 0);
	ret = st ? ftsc_run_call(st, nr, orig, regs, &me) : orig(regs);
	ftsc_inflight_leave(&me);
	ftsc_state_put(st);
	if (atomic_long_dec_and_test(&ftsc_calls) && wq_has_sleeper(&ftsc_idle))
		wake_up_all(&ftsc_idle);
	module_put(THIS_MODULE);
	return ret;
}

static void notrace ftsc_ftrace_callback(unsigned long ip,
					 unsigned long parent_ip,
					 struct ftrace_ops *ops,
					 struct ftrace_regs *fregs)
{
	struct pt_regs *regs = ftrace_get_regs(fregs);
	const struct pt_regs *user;
	struct ftsc_state *st;
	unsigned long nr;
	bool take;

	if (!regs || within_module(parent_ip, THIS_MODULE))
		return;
	/* __x64_sys_*(const struct pt_regs *): the first argument, in rdi */
	user = (const struct pt_regs *)regs->di;
	if (!user)
		return;
	/* The number the registers carry must be the one this function serves
	 * (x32 numbers have bit 30 set and fail the first test). */
	nr = user->orig_ax;
	if (nr >= FTSC_NR_LIMIT || !ftsc_entry[nr] ||
	    ip - ftsc_entry[nr] >= FTSC_SITE_SLACK)
		return;
	rcu_read_lock();
	st = rcu_dereference(ftsc_current);
	take = st && test_bit(nr, st->watch) && ftsc_target_matches(st);
	rcu_read_unlock();
	if (take && try_module_get(THIS_MODULE)) {
		atomic_long_inc(&ftsc_calls);
		regs->ip = (unsigned long)ftsc_syscall_wrapper;
	}
}

/* ---- installing and removing hooks -------------------------------------- */

/* "openat, read": the names of the syscalls in set, for a message. */
static void ftsc_names(const unsigned long *set, char *buf, size_t len)
{
	char name[KSYM_SYMBOL_LEN];
	size_t used = 0;
	long nr;

	buf[0] = '\0';
	for_each_set_bit(nr, set, FTSC_NR_LIMIT) {
		ftsc_syscall_name(nr, name, sizeof(name));
		if (used < len)
			used += scnprintf(buf + used, len - used, "%s%s",
					  used ? ", " : "", name);
	}
}

/*
 * Hooks every syscall in watch that is not hooked yet: adds their entry
 * points to the ops's filter, or registers the ops with them. On failure
 * changes nothing, says why, and returns the error. Under ftsc_mutex.
 */
int ftsc_hooks_add(const unsigned long *watch, char *why, size_t why_len)
{
	DECLARE_BITMAP(adding, FTSC_NR_LIMIT);
	struct ftrace_ops *ops;
	char names[128];
	unsigned int n = 0;
	long nr;
	int err;

	lockdep_assert_held(&ftsc_mutex);
	bitmap_andnot(adding, watch, ftsc_hooked_set, FTSC_NR_LIMIT);
	for_each_set_bit(nr, adding, FTSC_NR_LIMIT) {
		if (!ftsc_hookable(nr) || ftsc_never_hooked(nr)) {
			ftsc_syscall_name(nr, names, sizeof(names));
			snprintf(why, why_len, "the module never hooks %s", names);
			return -EINVAL;
		}
		ftsc_ips[n++] = ftsc_entry[nr];
	}
	if (!n)
		return 0;
	if (ftsc_ops) {
		err = ftrace_set_filter_ips(ftsc_ops, ftsc_ips, n, 0, 0);
	} else {
		ops = kzalloc(sizeof(*ops), GFP_KERNEL);
		if (!ops) {
			snprintf(why, why_len, "out of memory for the ftrace hooks");
			return -ENOMEM;
		}
		ops->func = ftsc_ftrace_callback;
		ops->flags = FTRACE_OPS_FL_SAVE_REGS | FTRACE_OPS_FL_RECURSION |
			     FTRACE_OPS_FL_IPMODIFY;
		err = ftrace_set_filter_ips(ops, ftsc_ips, n, 0, 0);
		if (!err) {
			err = register_ftrace_function(ops);
			if (err)
				ftrace_free_filter(ops);
		}
		if (err)
			kfree(ops);
		else
			ftsc_ops = ops;
	}
	if (err) {
		ftsc_names(adding, names, sizeof(names));
		snprintf(why, why_len,
			 "cannot hook the entry points of %s with ftrace (error %d)",
			 names, err);
		return err;
	}
	bitmap_or(ftsc_hooked_set, ftsc_hooked_set, adding, FTSC_NR_LIMIT);
	return 0;
}

static void ftsc_unhook_failed(const char *what, int err)
{
	pr_err("ftsc: cannot %s (error %d); the hooks stay in place and pass every call through\n",
	       what, err);
	ftsc_unhook_err = err;
}

/*
 * Removes every hook whose syscall is not in keep (NULL: all). The last ones
 * go by unregistering the ops: ftrace then waits until no task is in the
 * callback or its trampoline. When ftrace refuses, the ops stays registered
 * (freeing it, or the module's text, under ftrace would crash the kernel):
 * the module keeps a reference to itself until a later removal succeeds, the
 * kernel log and `status` (unhook_error) say so. Under ftsc_mutex.
 */
void ftsc_hooks_remove_except(const unsigned long *keep)
{
	DECLARE_BITMAP(removing, FTSC_NR_LIMIT);
	unsigned int n = 0;
	long nr;
	int err;

	lockdep_assert_held(&ftsc_mutex);
	if (keep)
		bitmap_andnot(removing, ftsc_hooked_set, keep, FTSC_NR_LIMIT);
	else
		bitmap_copy(removing, ftsc_hooked_set, FTSC_NR_LIMIT);
	for_each_set_bit(nr, removing, FTSC_NR_LIMIT)
		ftsc_ips[n++] = ftsc_entry[nr];
	if (!n)
		return;
	if (bitmap_equal(removing, ftsc_hooked_set, FTSC_NR_LIMIT)) {
		err = unregister_ftrace_function(ftsc_ops);
		if (err) {
			ftsc_unhook_failed("unregister the ftrace hooks", err);
			if (!ftsc_pinned) {
				__module_get(THIS_MODULE);
				ftsc_pinned = true;
			}
			return;
		}
		ftrace_free_filter(ftsc_ops);
		kfree(ftsc_ops);
		ftsc_ops = NULL;
		bitmap_zero(ftsc_hooked_set, FTSC_NR_LIMIT);
		ftsc_unhook_err = 0;
		if (ftsc_pinned) {
			ftsc_pinned = false;
			module_put(THIS_MODULE);
		}
		return;
	}
	err = ftrace_set_filter_ips(ftsc_ops, ftsc_ips, n, 1, 0);
	if (err) {
		ftsc_unhook_failed("remove syscalls from the ftrace hooks' filter",
				   err);
		return;
	}
	bitmap_andnot(ftsc_hooked_set, ftsc_hooked_set, removing,
		      FTSC_NR_LIMIT);
}
