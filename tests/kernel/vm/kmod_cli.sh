#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# `ftsc kmod` as a user meets it, in the VM: load, status, stats, unload, and
# a clear message with the right exit status for every bad input.
. /ftsc/tests/lib.sh
unload_module
P=/tmp/cli.toml
cat >$P <<'EOF'
version = 1
[defaults]
backoff = ["20ms", "20ms"]
[[rule]]
syscalls = ["openat", "mmap"]
retry = ["ENOENT", "ENOMEM"]
[target]
comm = "ftscprobe"
EOF

# Not loaded yet.
run_expect 0 ftsc kmod status
output_has "module: not loaded"
run_expect 1 ftsc kmod stats
output_has "ftsc: the ftsc module is not loaded"
run_expect 0 ftsc kmod unload
output_has "not loaded; nothing to unload"

# Bad command lines: usage errors (exit 2).
run_expect 2 ftsc kmod
run_expect 2 ftsc kmod load --no-such-flag $P
run_expect 2 ftsc kmod frobnicate
run_expect 2 ftsc kmod unload --wait=-3

# A policy with errors: exit 1, file:line, and nothing is inserted.
printf 'version = 1\n[[rule]]\nsyscalls = ["openatt"]\nretry = ["ENOENT"]\n' >/tmp/bad.toml
run_expect 1 ftsc kmod load --module /ftsc/ftsc.ko /tmp/bad.toml
output_has "/tmp/bad.toml:3"
output_has "did you mean openat"
[ ! -d /sys/kernel/security/ftsc ] || fail "a bad policy inserted the module"
run_expect 1 ftsc kmod load --module /ftsc/ftsc.ko /tmp/does-not-exist.toml
output_has "cannot read policy '/tmp/does-not-exist.toml'"

# No module where it is looked for, and a --module that is not one.
run_expect 1 ftsc kmod load $P
output_has "the ftsc module is not loaded and no ftsc.ko was found"
run_expect 1 ftsc kmod load --module /tmp/bad.toml $P
output_has "the kernel refused the module '/tmp/bad.toml'"

# Load: the module is inserted, the policy's syscalls hooked.
run_expect 0 ftsc kmod load --module /ftsc/ftsc.ko $P
output_has "inserted the kernel module /ftsc/ftsc.ko"
output_has "hooked mmap, openat; target comm=ftscprobe"
run_expect 0 ftsc kmod status
output_has "policy: loaded"
output_has "mode: enforce"
output_has "hooked: mmap openat"
output_has "in_flight: 0"

# Statistics of a real retried call, in the three formats.
run_expect 0 kmod_probe --comm ftscprobe /tmp/cli-missing
run_expect 0 ftsc kmod stats
output_has "openat"
output_has "ENOENT"
run_expect 0 ftsc kmod stats --json
output_has '"syscall": "openat"'
output_has '"retries": 2'
output_has '"gave_up": 1'
run_expect 0 ftsc kmod stats --prometheus
output_has 'ftsc_retries_total{engine="kmod",syscall="openat",errno="ENOENT"} 2'
output_has 'ftsc_gave_up_calls_total{engine="kmod",syscall="openat",errno="ENOENT"} 1'
run_expect 2 ftsc kmod stats --json --prometheus

# Replacing the policy: mmap is unhooked, the new load starts fresh statistics.
sed -i 's/"openat", "mmap"/"openat"/' $P
run_expect 0 ftsc kmod load $P
run_expect 0 ftsc kmod status
output_has "hooked: openat"
output_has "policy_id: 2"
expect_stat openat ENOENT calls 0

# Injections into a never-retried syscall: not hooked here, and said so.
run_expect 0 ftsc kmod load $P --inject close:error=EIO:when=1
output_has "the kernel engine never hooks close (never retried)"

# The shipped example for a roll-out: everything, observe mode.
run_expect 0 ftsc kmod load /ftsc/policies/kmod/observe-everything.toml
output_has "(observe mode): hooked connect, openat; target all"
run_expect 0 kmod_probe --comm anything /tmp/cli-missing
v=$(stat_of openat ENOENT would_retry)
[ "$v" -ge 1 ] || fail "observe mode with all = true did not count the probe's call"
echo "ok: openat ENOENT would_retry is $v"
expect_stat openat ENOENT retries 0

# Observe mode: decided and counted, never retried.
run_expect 0 ftsc kmod load --dry-run $P
output_has "(observe mode)"
run_expect 0 kmod_probe --comm ftscprobe /tmp/cli-missing
expect_stat openat ENOENT would_retry 1
expect_stat openat ENOENT retries 0

# Detach only, then remove.
run_expect 0 ftsc kmod unload --keep-module
output_has "the policy is detached; the module stays loaded"
status_has "policy: none"
run_expect 0 ftsc kmod stats --json
output_has '"would_retry": 1'
run_expect 0 ftsc kmod unload
output_has "the module removed"
[ ! -d /sys/kernel/security/ftsc ] || fail "the module is still there"
echo "kmod cli: ok"
