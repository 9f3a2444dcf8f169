// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control files, in securityfs (root only; CAP_SYS_ADMIN is checked on
 * open as well):
 *
 *   /sys/kernel/security/ftsc/policy   write a compiled policy (one write of
 *                                      the whole blob): validate, hook, publish
 *   /sys/kernel/security/ftsc/control  write "detach": remove the policy and
 *                                      its hooks, end every backoff wait
 *                                      (under this policy or one it replaced)
 *   /sys/kernel/security/ftsc/status   read "key: value" lines (below)
 *   /sys/kernel/security/ftsc/stats    read the statistics table of the last
 *                                      loaded policy (struct ftsc_stats)
 *
 * Nothing userspace writes is trusted: the blob is copied, its length must be
 * exactly sizeof(struct ftsc_policy), ftsc_policy_validate() checks every
 * count and index before anything reads it, and the target is resolved here
 * (a cgroup that does not exist is an error). A rejected blob leaves the
 * loaded policy in place and its reason in `status` (last_error) and in the
 * kernel log; the write fails with EINVAL (ENOENT for a missing cgroup).
 *
 * Names that processes choose (a task's comm) and strings from the blob (the
 * target's comm and cgroup) are written to `status` with every byte outside
 * printable ASCII, the space and the backslash as \ooo (octal), so that no
 * name can end its line, forge another one, or split into two words.
 */
#include <linux/capability.h>
#include <linux/cgroup.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "ftsc_module.h"

static struct dentry *ftsc_dir, *ftsc_policy_file, *ftsc_control_file,
	*ftsc_status_file, *ftsc_stats_file;

/* Under ftsc_mutex: the most recently loaded state (kept after a detach, for
 * its statistics), the number of loads, and why the last write failed. */
static struct ftsc_state *ftsc_last;
static u64 ftsc_loads;
static char ftsc_last_error[320];

/* The reason may quote the blob (a cgroup path): control characters become
 * '?', so that it stays one line in `status` and in the kernel log. */
static void ftsc_reject(const char *why)
{
	char *c;

	strscpy(ftsc_last_error, why, sizeof(ftsc_last_error));
	for (c = ftsc_last_error; *c; c++)
		if ((unsigned char)*c < ' ' || (unsigned char)*c >= 0x7f)
			*c = '?';
	pr_warn("ftsc: policy rejected: %s\n", ftsc_last_error);
}

int ftsc_load(const struct ftsc_policy *blob, size_t len)
{
	struct ftsc_state *st, *old;
	char why[256] = "";
	int code, err;

	code = ftsc_policy_validate(blob, len);
	if (code != FTSC_POLICY_OK) {
		snprintf(why, sizeof(why), "%s (validation code %d)",
			 ftsc_policy_validate_message(code), code);
		mutex_lock(&ftsc_mutex);
		ftsc_reject(why);
		mutex_unlock(&ftsc_mutex);
		return -EINVAL;
	}
	st = ftsc_state_create(blob, why, sizeof(why));
	mutex_lock(&ftsc_mutex);
	if (IS_ERR(st)) {
		ftsc_reject(why);
		mutex_unlock(&ftsc_mutex);
		return PTR_ERR(st);
	}
	/* Hooks first, so that a syscall in both policies is never unhooked. */
	err = ftsc_hooks_add(st->watch, why, sizeof(why));
	if (err) {
		ftsc_reject(why);
		mutex_unlock(&ftsc_mutex);
		ftsc_state_put(st);
		return err;
	}
	st->id = ++ftsc_loads;
	old = rcu_replace_pointer(ftsc_current, st,
				  lockdep_is_held(&ftsc_mutex));
	ftsc_hooks_remove_except(st->watch);
	if (ftsc_last)
		ftsc_state_put(ftsc_last);
	ftsc_state_get(st);
	ftsc_last = st;
	ftsc_last_error[0] = '\0';
	mutex_unlock(&ftsc_mutex);
	/* Calls of the old policy finish under it: they hold references. */
	ftsc_state_put(old);
	return 0;
}

static void ftsc_detach_locked(void)
{
	struct ftsc_state *old;

	lockdep_assert_held(&ftsc_mutex);
	old = rcu_replace_pointer(ftsc_current, NULL,
				  lockdep_is_held(&ftsc_mutex));
	/* Every waiting call returns its last error at once: those of the
	 * policy just detached and those still running under a policy it
	 * replaced. A call inside the original syscall cannot be woken; when
	 * it returns, it is not retried. */
	ftsc_states_revoke_all();
	ftsc_hooks_remove_except(NULL);
	ftsc_state_put(old);
}

void ftsc_detach(void)
{
	mutex_lock(&ftsc_mutex);
	ftsc_detach_locked();
	mutex_unlock(&ftsc_mutex);
}

/* At module exit: detach and drop the last state too. */
void ftsc_detach_all(void)
{
	mutex_lock(&ftsc_mutex);
	ftsc_detach_locked();
	ftsc_state_put(ftsc_last);
	ftsc_last = NULL;
	mutex_unlock(&ftsc_mutex);
}

static int ftsc_open_admin(struct inode *inode, struct file *file)
{
	return capable(CAP_SYS_ADMIN) ? 0 : -EPERM;
}

/* ---- policy ------------------------------------------------------------- */

static ssize_t ftsc_policy_write(struct file *file, const char __user *buf,
				 size_t count, loff_t *ppos)
{
	struct ftsc_policy *blob;
	char why[160];
	int err;

	if (*ppos != 0 || count != sizeof(struct ftsc_policy)) {
		snprintf(why, sizeof(why),
			 "a compiled policy is written in one write of %zu bytes at offset 0; got %zu bytes at offset %lld",
			 sizeof(struct ftsc_policy), count, (long long)*ppos);
		mutex_lock(&ftsc_mutex);
		ftsc_reject(why);
		mutex_unlock(&ftsc_mutex);
		return -EINVAL;
	}
	blob = vmemdup_user(buf, count);
	if (IS_ERR(blob))
		return PTR_ERR(blob);
	err = ftsc_load(blob, count);
	kvfree(blob);
	if (err)
		return err;
	*ppos += count;
	return count;
}

static const struct file_operations ftsc_policy_fops = {
	.owner = THIS_MODULE,
	.open = ftsc_open_admin,
	.write = ftsc_policy_write,
	.llseek = no_llseek,
};

/* ---- control ------------------------------------------------------------ */

static ssize_t ftsc_control_write(struct file *file, const char __user *buf,
				  size_t count, loff_t *ppos)
{
	char cmd[16];

	if (count == 0 || count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, buf, count))
		return -EFAULT;
	cmd[count] = '\0';
	strim(cmd);
	if (strcmp(cmd, "detach") != 0)
		return -EINVAL;
	ftsc_detach();
	return count;
}

static const struct file_operations ftsc_control_fops = {
	.owner = THIS_MODULE,
	.open = ftsc_open_admin,
	.write = ftsc_control_write,
	.llseek = no_llseek,
};

/* ---- status ------------------------------------------------------------- */

/* At most len bytes of s (up to a NUL), escaped as the comment on top says. */
static void ftsc_seq_escaped(struct seq_file *m, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len && s[i]; i++) {
		unsigned char c = s[i];

		if (c <= ' ' || c >= 0x7f || c == '\\')
			seq_printf(m, "\\%03o", c);
		else
			seq_putc(m, c);
	}
}

static void ftsc_show_syscalls(struct seq_file *m, const char *key,
			       const unsigned long *set)
{
	char name[64];
	long nr;

	seq_printf(m, "%s:", key);
	for (nr = 0; nr < FTSC_NR_LIMIT; nr++) {
		if (!test_bit(nr, set))
			continue;
		ftsc_syscall_name(nr, name, sizeof(name));
		seq_printf(m, " %s", name);
	}
	seq_putc(m, '\n');
}

static void ftsc_show_target(struct seq_file *m, const struct ftsc_state *st)
{
	u32 f = st->target_flags;

	seq_puts(m, "target:");
	if (f & FTSC_TARGET_ALL)
		seq_puts(m, " all");
	if (f & FTSC_TARGET_CGROUP) {
		seq_puts(m, " cgroup=");
		ftsc_seq_escaped(m, st->policy->target.cgroup, FTSC_CGROUP_LEN);
	}
	if (f & FTSC_TARGET_UID)
		seq_printf(m, " uid=%u", st->policy->target.uid);
	if (f & FTSC_TARGET_PID)
		seq_printf(m, " pid=%d", st->tgid);
	if (f & FTSC_TARGET_COMM) {
		seq_puts(m, " comm=");
		ftsc_seq_escaped(m, st->comm, sizeof(st->comm));
	}
	if (!f)
		seq_puts(m, " none");
	seq_putc(m, '\n');
}

struct ftsc_inflight_print {
	struct seq_file *m;
	long shown;
};

static void ftsc_show_call(const struct ftsc_inflight *c, void *data)
{
	struct ftsc_inflight_print *p = data;
	char name[64], comm[TASK_COMM_LEN];

	/* at most this many lines; the count says how many there are */
	if (p->shown++ >= 64)
		return;
	ftsc_syscall_name(c->nr, name, sizeof(name));
	/* The task is in the wrapper, so alive; it may rename itself meanwhile. */
	__get_task_comm(comm, sizeof(comm), c->task);
	seq_printf(p->m, "call: pid=%d tid=%d syscall=%s state=%s policy=%llu comm=",
		   task_tgid_nr(c->task), task_pid_nr(c->task), name,
		   READ_ONCE(c->waiting) ? "backoff" : "syscall", c->policy_id);
	ftsc_seq_escaped(p->m, comm, sizeof(comm));
	seq_putc(p->m, '\n');
}

static int ftsc_status_show(struct seq_file *m, void *v)
{
	struct ftsc_inflight_print p = { .m = m };
	struct ftsc_state *st;
	DECLARE_BITMAP(hooked, FTSC_NR_LIMIT);
	long nr;

	mutex_lock(&ftsc_mutex);
	st = rcu_dereference_protected(ftsc_current,
				       lockdep_is_held(&ftsc_mutex));
	seq_printf(m, "module: %s\n", FTSC_MODULE_NAME);
	seq_printf(m, "version: %s\n", FTSC_MODULE_VERSION);
	seq_printf(m, "abi: policy %u, stats %u\n", FTSC_POLICY_VERSION,
		   FTSC_STATS_VERSION);
	seq_printf(m, "policy: %s\n", st ? "loaded" : "none");
	seq_printf(m, "loads: %llu\n", ftsc_loads);
	if (st) {
		seq_printf(m, "policy_id: %llu\n", st->id);
		seq_printf(m, "mode: %s\n", st->observe ? "observe" : "enforce");
		ftsc_show_target(m, st);
		bitmap_zero(hooked, FTSC_NR_LIMIT);
		for (nr = 0; nr < FTSC_NR_LIMIT; nr++)
			if (ftsc_hooked(nr))
				__set_bit(nr, hooked);
		ftsc_show_syscalls(m, "hooked", hooked);
		ftsc_show_syscalls(m, "unhookable", st->unhookable);
		seq_printf(m, "untracked_processes: %lld\n",
			   (long long)atomic64_read(&st->procs_full));
	}
	seq_printf(m, "last_error: %s\n", ftsc_last_error);
	if (ftsc_hooks_unhook_error())
		seq_printf(m, "unhook_error: %d\n", ftsc_hooks_unhook_error());
	seq_printf(m, "in_flight: %ld\n", ftsc_inflight_count());
	ftsc_inflight_each(ftsc_show_call, &p);
	mutex_unlock(&ftsc_mutex);
	return 0;
}

static int ftsc_status_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return single_open(file, ftsc_status_show, NULL);
}

static const struct file_operations ftsc_status_fops = {
	.owner = THIS_MODULE,
	.open = ftsc_status_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = single_release,
};

/* ---- stats -------------------------------------------------------------- */

static ssize_t ftsc_stats_read(struct file *file, char __user *buf,
			       size_t count, loff_t *ppos)
{
	struct ftsc_state *st;
	ssize_t n;

	mutex_lock(&ftsc_mutex);
	st = ftsc_last;
	if (st)
		ftsc_state_get(st);
	mutex_unlock(&ftsc_mutex);
	if (!st)
		return -ENODATA;
	/* Counters change while they are copied; each is a naturally aligned
	 * 64-bit word, so a reader sees each one whole. */
	n = simple_read_from_buffer(buf, count, ppos, st->stats,
				    sizeof(*st->stats));
	ftsc_state_put(st);
	return n;
}

static const struct file_operations ftsc_stats_fops = {
	.owner = THIS_MODULE,
	.open = ftsc_open_admin,
	.read = ftsc_stats_read,
	.llseek = default_llseek,
};

int ftsc_control_init(void)
{
	ftsc_dir = securityfs_create_dir(FTSC_MODULE_NAME, NULL);
	if (IS_ERR(ftsc_dir))
		return PTR_ERR(ftsc_dir);
	ftsc_policy_file = securityfs_create_file("policy", 0200, ftsc_dir,
						  NULL, &ftsc_policy_fops);
	ftsc_control_file = securityfs_create_file("control", 0200, ftsc_dir,
						   NULL, &ftsc_control_fops);
	ftsc_status_file = securityfs_create_file("status", 0400, ftsc_dir,
						  NULL, &ftsc_status_fops);
	ftsc_stats_file = securityfs_create_file("stats", 0400, ftsc_dir, NULL,
						 &ftsc_stats_fops);
	if (IS_ERR(ftsc_policy_file) || IS_ERR(ftsc_control_file) ||
	    IS_ERR(ftsc_status_file) || IS_ERR(ftsc_stats_file)) {
		ftsc_control_exit();
		return -ENOMEM;
	}
	return 0;
}

void ftsc_control_exit(void)
{
	struct dentry **files[] = { &ftsc_policy_file, &ftsc_control_file,
				    &ftsc_status_file, &ftsc_stats_file,
				    &ftsc_dir };
	int i;

	for (i = 0; i < ARRAY_SIZE(files); i++) {
		if (!IS_ERR_OR_NULL(*files[i]))
			securityfs_remove(*files[i]);
		*files[i] = NULL;
	}
}
