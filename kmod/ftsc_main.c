// SPDX-License-Identifier: GPL-2.0-only
/*
 * ftsc: fault-tolerant system calls, system-wide, in a Linux 6.x module.
 *
 * The module re-executes selected syscalls that fail with an errno the loaded
 * policy marks as transient, after a backoff, for the processes the policy
 * targets. Policies are compiled in userspace (`ftsc kmod load`) into the
 * flat block of src/abi/compiled_policy.h, which the module validates and
 * then reads; the decision itself is src/decide/decide.c, the same code the
 * userspace engines run (compiled in through ftsc_decide.c).
 *
 * Why not patch sys_call_table. The research prototype this module succeeds
 * replaced entries of sys_call_table on Linux 4.x. Three kernel changes end
 * that approach:
 *  - Since 5.3 the kernel pins the write-protect bit of CR0 ("x86/asm: Pin
 *    sensitive CR0 bits"): the old trick of clearing CR0.WP to write to the
 *    read-only table is undone, and warned about, on the spot.
 *  - Since 5.7 kallsyms_lookup_name() is no longer exported to modules, so
 *    a module cannot simply look the table up by name.
 *  - Since 6.9, and in the stable series through backports (Debian's 6.1
 *    kernels have x64_sys_call()), x86_64 dispatches syscalls through a
 *    switch statement instead of an indirect call through the table: writing
 *    the table, were it possible, would change nothing.
 * The prototype also crashed on unload: a task could still be running, or
 * about to enter, the replacement function when its module was freed.
 *
 * What this module does instead (ftsc_entry.c and ftsc_hook.c have the details). It finds
 * kallsyms_lookup_name() through a kprobe, reads (never writes) the table to
 * learn which __x64_sys_* function serves each syscall number, and hooks
 * those functions with ftrace: an ftrace_ops with SAVE_REGS, IPMODIFY and
 * RECURSION whose callback sends a targeted call to a wrapper in this
 * module. Hooks are installed and removed to match the loaded policy. Each
 * redirected call holds a module reference until it returns, so removing the
 * module while calls are in flight fails (EAGAIN from delete_module) instead
 * of freeing code under them; `ftsc kmod unload` first detaches the policy
 * (unhooks and wakes every backoff wait, under this policy or one it
 * replaced, which returns its last error) and then reports which tasks
 * still hold the module, typically calls blocked in the original syscall (a
 * read on an empty pipe). A forced removal (rmmod -f) skips the reference
 * check; the module's exit then waits for every redirected call to return
 * before its text goes, and for ftrace's and its own tasks-RCU grace
 * periods.
 *
 * What it relies on. A kernel with CONFIG_FUNCTION_TRACER,
 * CONFIG_DYNAMIC_FTRACE_WITH_REGS (x86_64), CONFIG_KPROBES, CONFIG_KALLSYMS
 * and CONFIG_KALLSYMS_ALL (sys_call_table is data), CONFIG_SECURITYFS for the
 * control files and CONFIG_CGROUPS for cgroup targets; Debian's kernels have
 * them all. Under UEFI Secure Boot, Debian's kernel enters lockdown and loads
 * only modules signed with a key it trusts: sign ftsc.ko with a key enrolled
 * as a Machine Owner Key, or the load fails. An unsigned module taints the
 * kernel where signatures are not enforced.
 *
 * What it does not cover: 32-bit compat entry points (__ia32_sys_*), x32,
 * io_uring, the vDSO, and the syscalls that are never retried (close, exit,
 * exit_group, rt_sigreturn, restart_syscall), which it never hooks.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/workqueue.h>

#include "ftsc_module.h"

static int __init ftsc_init(void)
{
	int err;

	err = ftsc_entries_init();
	if (err)
		return err;
	ftsc_wq = alloc_workqueue("ftsc", 0, 0);
	if (!ftsc_wq)
		return -ENOMEM;
	err = ftsc_control_init();
	if (err) {
		pr_err("ftsc: cannot create the control files in securityfs (error %d)\n",
		       err);
		destroy_workqueue(ftsc_wq);
		return err;
	}
	pr_info("ftsc: loaded; control files in /sys/kernel/security/ftsc\n");
	return 0;
}

static void __exit ftsc_exit(void)
{
	/* Normally no control file is open and no call is in flight (each holds
	 * a module reference). A forced removal (rmmod -f) ignores references,
	 * so this does not count on them. */
	ftsc_control_exit();
	/* Unhooks (no task is left in the callback when this returns), revokes
	 * every policy, wakes every backoff wait. */
	ftsc_detach_all();
	if (ftsc_hooks_unhook_error())
		pr_crit("ftsc: removed by force while ftrace still holds its hooks (error %d): the kernel will crash when a hooked syscall runs\n",
			ftsc_hooks_unhook_error());
	/* Calls the callback redirected before that return through the
	 * wrapper: wait for them (only a forced removal finds any). */
	ftsc_calls_wait_idle();
	/* A task may still be between the wrapper's last module_put() and its
	 * return; a tasks-RCU grace period waits until it has left. */
	synchronize_rcu_tasks();
	/* States are freed by rcu_work: wait for the callbacks, then the work. */
	rcu_barrier();
	destroy_workqueue(ftsc_wq);
	pr_info("ftsc: unloaded\n");
}

module_init(ftsc_init);
module_exit(ftsc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ftsc: retries syscalls that fail with transient errors, as a policy says");
MODULE_AUTHOR("the ftsc authors");
MODULE_VERSION(FTSC_MODULE_VERSION);
