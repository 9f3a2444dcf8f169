#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Targeting, in the VM: a policy affects exactly the processes its [target]
# selects (cgroup v2 subtree, uid, comm, pid; every criterion given must
# match), nothing without a target, and everything with all = true. The probe
# (kmod_probe) opens a file that does not exist under a policy that retries
# openat ENOENT three times 20 ms apart; the module's statistics show whether
# its call was taken (a load starts a fresh table).
. /ftsc/tests/lib.sh
unload_module
MISSING=/tmp/ftsc-target-missing
POLICY=/tmp/target.toml
CG=/sys/fs/cgroup/ftsc-target
mkdir -p $CG/sub

policy() {  # policy TARGET_LINES...: writes $POLICY with that [target]
  {
    echo 'version = 1'
    echo '[defaults]'
    echo 'backoff = ["20ms", "20ms", "20ms"]'
    echo '[[rule]]'
    echo 'syscalls = ["openat"]'
    echo 'retry = ["ENOENT"]'
    if [ $# -gt 0 ]; then
      echo '[target]'
      for line in "$@"; do echo "$line"; done
    fi
  } >$POLICY
  echo "--- policy target: ${*:-(none)}"
}

# probe yes|no PROBE_ARGS...: loads $POLICY afresh, runs the probe, and checks
# that the module did (yes) or did not (no) take its openat.
probe() {
  local expect="$1"
  shift
  run_expect 0 ftsc kmod load --module /ftsc/ftsc.ko $POLICY
  run_expect 0 kmod_probe "$@" $MISSING
  if [ "$expect" = yes ]; then
    expect_stat openat ENOENT calls 1
    expect_stat openat ENOENT retries 3
    expect_stat openat ENOENT gave_up 1
  else
    expect_stat openat ENOENT calls 0
  fi
}

policy
run_expect 0 ftsc kmod load --module /ftsc/ftsc.ko $POLICY
output_has "the policy has no [target], so it affects no process"
status_has "target: none"
probe no
probe no --comm ftscprobe --uid 1000

policy 'uid = 1000'
probe yes --uid 1000
probe no
probe no --uid 1001

policy 'comm = "ftscprobe"'
probe yes --comm ftscprobe
probe no --comm ftscprob
probe no

policy 'cgroup = "/ftsc-target"'
probe yes --cgroup $CG
probe yes --cgroup $CG/sub
probe no

policy 'uid = 1000' 'comm = "ftscprobe"'
probe yes --uid 1000 --comm ftscprobe
probe no --uid 1000
probe no --comm ftscprobe

policy 'uid = 1000' 'cgroup = "/ftsc-target/sub"'
probe yes --cgroup $CG/sub --uid 1000
probe no --cgroup $CG --uid 1000
probe no --cgroup $CG/sub

# pid: the probe waits at a fifo until the policy names it.
mkfifo /tmp/go
kmod_probe --wait /tmp/go $MISSING >/tmp/probe.out 2>&1 &
probe_pid=$!
policy "pid = $probe_pid"
run_expect 0 ftsc kmod load $POLICY
status_has "target: pid=$probe_pid"
echo go >/tmp/go
wait $probe_pid || fail "the waiting probe failed: $(cat /tmp/probe.out)"
cat /tmp/probe.out
expect_stat openat ENOENT calls 1
expect_stat openat ENOENT retries 3
run_expect 0 kmod_probe $MISSING
expect_stat openat ENOENT calls 1

# all = true: every process, the probe among them (and whatever else runs).
policy 'all = true'
run_expect 0 ftsc kmod load $POLICY
run_expect 0 kmod_probe --uid 4242 --comm anyone $MISSING
v=$(stat_of openat ENOENT calls)
[ "$v" -ge 1 ] || fail "under all = true the probe's call was not taken"
echo "ok: openat ENOENT calls is $v under all = true"

# A cgroup that does not exist: the module rejects the policy, says why, and
# the loaded policy stays.
before=$(sed -n 's/^policy_id: //p' /sys/kernel/security/ftsc/status)
policy 'cgroup = "/no-such-group"'
run_expect 1 ftsc kmod load $POLICY
output_has "the module rejected the policy: target cgroup '/no-such-group' does not exist"
status_has "policy_id: $before"
status_has "target: all"

run_expect 0 ftsc kmod unload
rmdir $CG/sub $CG
echo "targeting: ok"
