// SPDX-License-Identifier: GPL-2.0-only
/*
 * The syscall entry points the hooks (ftsc_hook.c) can redirect: which
 * function each syscall number enters, where the wrapper calls it, which
 * numbers the module never hooks, and their names.
 *
 * Finding the entry points. kallsyms_lookup_name() has not been exported
 * since 5.7, but a kprobe registered on it by name reports its address. With
 * it the module reads sys_call_table, which since the switch-based dispatch
 * (6.9, and the stable backports that Debian's 6.1 carries) no longer drives
 * dispatch but still maps every syscall number to its __x64_sys_* function;
 * the table is only read, never written. Each entry's symbol name is checked
 * to start with __x64_sys_ and numbers that lead to sys_ni_syscall are left
 * out. The syscalls that never return or must never be called twice (close,
 * exit, exit_group, rt_sigreturn, restart_syscall) are never hooked, whatever
 * a policy says (ftsc_never_hooked()).
 */
#include <linux/ftrace.h>
#include <linux/kallsyms.h>
#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/uaccess.h>
#include <asm/syscall.h>
#include <asm/unistd.h>

#include "ftsc_module.h"

/* The __x64_sys_* function of each syscall number, or 0. */
unsigned long ftsc_entry[FTSC_NR_LIMIT];
/* Where the wrapper calls it: past the ftrace site when that comes first. */
unsigned long ftsc_body[FTSC_NR_LIMIT];

static unsigned long ftsc_lookup_name(const char *name)
{
	static unsigned long (*lookup)(const char *name);
	struct kprobe kp = { .symbol_name = "kallsyms_lookup_name" };

	if (!lookup) {
		if (register_kprobe(&kp) < 0)
			return 0;
		lookup = (unsigned long (*)(const char *))kp.addr;
		unregister_kprobe(&kp);
	}
	return lookup ? lookup(name) : 0;
}

/* MCOUNT_INSN_SIZE when addr starts with its ftrace site, else 0. */
static unsigned long ftsc_site_size(unsigned long addr)
{
	static const u8 nop5[MCOUNT_INSN_SIZE] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	u8 head[MCOUNT_INSN_SIZE];

	if (copy_from_kernel_nofault(head, (const void *)addr, sizeof(head)))
		return 0;
	/* the NOP ftrace leaves in place, or a call into a trampoline */
	if (memcmp(head, nop5, sizeof(head)) == 0 || head[0] == 0xe8)
		return MCOUNT_INSN_SIZE;
	return 0;
}

int ftsc_entries_init(void)
{
	const sys_call_ptr_t *table;
	unsigned long ni;
	char name[KSYM_SYMBOL_LEN];
	long nr, limit = min_t(long, NR_syscalls, FTSC_NR_LIMIT);
	int found = 0;

	table = (const sys_call_ptr_t *)ftsc_lookup_name("sys_call_table");
	ni = ftsc_lookup_name("__x64_sys_ni_syscall");
	if (!table) {
		pr_err("ftsc: cannot find sys_call_table through kallsyms (needs CONFIG_KPROBES and CONFIG_KALLSYMS_ALL)\n");
		return -ENOENT;
	}
	for (nr = 0; nr < limit; nr++) {
		unsigned long addr = (unsigned long)table[nr];

		if (!addr || addr == ni)
			continue;
		sprint_symbol_no_offset(name, addr);
		if (strncmp(name, "__x64_sys_", 10) != 0)
			continue;
		ftsc_entry[nr] = addr;
		ftsc_body[nr] = addr + ftsc_site_size(addr);
		found++;
	}
	if (!found) {
		pr_err("ftsc: sys_call_table holds no __x64_sys_* entry points\n");
		return -ENOENT;
	}
	return 0;
}

bool ftsc_hookable(long nr)
{
	return nr >= 0 && nr < FTSC_NR_LIMIT && ftsc_entry[nr] != 0;
}

/*
 * The syscalls the module never hooks, whatever a policy says: exit and
 * exit_group never return (a hook would leave its in-flight record on a
 * freed stack and its module reference taken for good), close releases the
 * fd even when it fails (a retry could close another thread's new fd), and
 * rt_sigreturn and restart_syscall act on state that a second call would
 * find consumed. docs/design.md never retries any of them.
 */
bool ftsc_never_hooked(long nr)
{
	switch (nr) {
	case __NR_close:
	case __NR_exit:
	case __NR_exit_group:
	case __NR_rt_sigreturn:
	case __NR_restart_syscall:
		return true;
	default:
		return false;
	}
}

/* "openat" for 257; the name as this kernel's symbol table has it. */
int ftsc_syscall_name(long nr, char *buf, size_t len)
{
	char sym[KSYM_SYMBOL_LEN];

	if (!ftsc_hookable(nr))
		return snprintf(buf, len, "syscall_%ld", nr);
	sprint_symbol_no_offset(sym, ftsc_entry[nr]);
	return snprintf(buf, len, "%s", sym + 10);
}
