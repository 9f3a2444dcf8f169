#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Safe unload, in the VM: removing the module while calls are inside hooked
# syscalls or asleep in a backoff never crashes and never hangs.
#  1. A read blocked indefinitely inside the original syscall holds the
#     module: `ftsc kmod unload` detaches the policy, fails at once and names
#     the task; once the read returns, unload succeeds.
#  2. A call asleep in a long backoff (10 x 10 s) is woken by the detach and
#     returns its last error, and the module goes.
#  3. The same when the call sleeps under a policy that was replaced since:
#     a detach wakes every call, not only those of the current policy.
#  4. `rmmod -f` (a forced removal, which ignores the module's references)
#     with calls asleep under the current and a replaced policy and a read
#     blocked in the syscall: the sleepers are woken, and rmmod returns only
#     once the read has returned, so that no task returns into freed code.
#  5. A task named "x<newline>in_flight: 0" blocked in a hooked read cannot
#     forge a line of the status: the module escapes its name, and
#     `ftsc kmod unload` still counts and names the call.
# (The kernel log is checked after every test by vm-init.sh.)
. /ftsc/tests/lib.sh
unload_module
CG=/sys/fs/cgroup/ftsc-unload
mkdir -p $CG

cat >/tmp/read.toml <<'EOF'
version = 1
[[rule]]
syscalls = ["read"]
retry = ["EIO"]
[target]
cgroup = "/ftsc-unload"
EOF
cat >/tmp/sleepy.toml <<'EOF'
version = 1
[defaults]
backoff = ["10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s"]
[budget]
window = "600s"
max_wait = "300s"
[[rule]]
syscalls = ["openat"]
retry = ["ENOENT"]
[target]
cgroup = "/ftsc-unload"
EOF

cat >/tmp/both.toml <<'EOF'
version = 1
[defaults]
backoff = ["10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s", "10s"]
[budget]
window = "600s"
max_wait = "300s"
[[rule]]
syscalls = ["openat"]
retry = ["ENOENT"]
[[rule]]
syscalls = ["read"]
retry = ["EIO"]
[target]
cgroup = "/ftsc-unload"
EOF

# wait_for TEXT SECONDS: until the module's status has TEXT.
wait_for() {
  local i=0
  while ! grep -qF -- "$1" /sys/kernel/security/ftsc/status; do
    i=$((i + 1))
    [ $i -le $(($2 * 10)) ] || fail "the status never showed '$1': $(cat /sys/kernel/security/ftsc/status)"
    usleep 100000
  done
  echo "ok: status shows '$1'"
}

echo "--- 1. a read blocked in the syscall"
run_expect 0 ftsc kmod load --module /ftsc/ftsc.ko /tmp/read.toml
# cat reads a pipe whose writer (sleep) never writes: blocked in read.
(sleep 1000 & echo $! >/tmp/writer.pid; wait) | (echo 0 >$CG/cgroup.procs && exec cat) &
wait_for "syscall=read state=syscall" 30
run_expect 1 ftsc kmod unload --wait 1
output_has "the policy is detached, but the module stays loaded: 1 call in flight holds it"
output_has "(cat)"
output_has "inside read"
output_has "run \`ftsc kmod unload\` again then"
status_has "policy: none"
status_has "in_flight: 1"
# delete_module itself fails at once (EWOULDBLOCK), as rmmod shows.
run_expect 1 rmmod ftsc
output_has "Resource temporarily unavailable"
kill "$(cat /tmp/writer.pid)"
wait
run_expect 0 ftsc kmod unload --wait 10
output_has "the policy is detached and the module removed"
[ ! -d /sys/kernel/security/ftsc ] || fail "the module is still there"

echo "--- 2. a call asleep in a 10 x 10 s backoff"
run_expect 0 ftsc kmod load --module /ftsc/ftsc.ko /tmp/sleepy.toml
(echo 0 >$CG/cgroup.procs && exec kmod_probe /tmp/unload-missing) >/tmp/probe.out 2>&1 &
probe_pid=$!
wait_for "syscall=openat state=backoff" 30
run_expect 0 ftsc kmod unload --wait 10
output_has "the module removed"
i=0
while kill -0 $probe_pid 2>/dev/null; do
  i=$((i + 1))
  [ $i -le 300 ] || fail "the woken call did not return within 30 s"
  usleep 100000
done
wait $probe_pid || fail "the probe did not get ENOENT: $(cat /tmp/probe.out)"
cat /tmp/probe.out
grep -q "openat: ENOENT" /tmp/probe.out || fail "the woken call did not return its last error"
echo "ok: the woken call returned ENOENT, its last error"
# start_sleeper OUT: a probe in the cgroup whose openat fails with ENOENT;
# its pid in $sleeper.
start_sleeper() {
  (echo 0 >$CG/cgroup.procs && exec kmod_probe /tmp/unload-missing) >"$1" 2>&1 &
  sleeper=$!
}

# ends_with_enoent PID OUT SECONDS: the probe returns within SECONDS, with ENOENT.
ends_with_enoent() {
  local i=0
  while kill -0 "$1" 2>/dev/null; do
    i=$((i + 1))
    [ $i -le $(($3 * 10)) ] || fail "the woken call of pid $1 did not return within $3 s"
    usleep 100000
  done
  wait "$1" || fail "the probe did not get ENOENT: $(cat "$2")"
  grep -q "openat: ENOENT" "$2" || fail "the woken call did not return its last error: $(cat "$2")"
  echo "ok: pid $1 returned ENOENT: $(cat "$2")"
}

# start_reader [NAME]: a probe in the cgroup, named NAME, blocked reading a
# pipe whose writer (sleep, its pid in /tmp/writer.pid) never writes; the
# pipeline's pid in $reader.
start_reader() {
  rm -f /tmp/writer.pid
  if [ $# -gt 0 ]; then
    (sleep 1000 & echo $! >/tmp/writer.pid; wait) |
      (echo 0 >$CG/cgroup.procs && exec kmod_probe --comm "$1" -) >/tmp/reader.out 2>&1 &
  else
    (sleep 1000 & echo $! >/tmp/writer.pid; wait) |
      (echo 0 >$CG/cgroup.procs && exec kmod_probe -) >/tmp/reader.out 2>&1 &
  fi
  reader=$!
  while [ ! -s /tmp/writer.pid ]; do usleep 10000; done
}

echo "--- 3. a call asleep under a policy that was replaced since"
run_expect 0 ftsc kmod load --module /ftsc/ftsc.ko /tmp/sleepy.toml
start_sleeper /tmp/probe.out
wait_for "syscall=openat state=backoff policy=1 " 30
run_expect 0 ftsc kmod load /tmp/read.toml
status_has "policy_id: 2"
grep -qF "syscall=openat state=backoff policy=1 " /sys/kernel/security/ftsc/status ||
  fail "the call should still sleep under the replaced policy 1: $(cat /sys/kernel/security/ftsc/status)"
echo "ok: the call sleeps under policy 1, which policy 2 replaced"
run_expect 0 ftsc kmod unload --wait 3
output_has "the module removed"
ends_with_enoent $sleeper /tmp/probe.out 10

echo "--- 4. rmmod -f with calls asleep and a read blocked in the syscall"
run_expect 0 ftsc kmod load --module /ftsc/ftsc.ko /tmp/sleepy.toml
start_sleeper /tmp/probe1.out
sleeper1=$sleeper
wait_for "syscall=openat state=backoff policy=1 " 30
run_expect 0 ftsc kmod load /tmp/both.toml
start_sleeper /tmp/probe2.out
sleeper2=$sleeper
wait_for "syscall=openat state=backoff policy=2 " 30
start_reader
wait_for "syscall=read state=syscall policy=2 " 30
rmmod -f ftsc >/tmp/rmmod.out 2>&1 &
rmmod_pid=$!
ends_with_enoent $sleeper1 /tmp/probe1.out 10
ends_with_enoent $sleeper2 /tmp/probe2.out 10
usleep 1000000
kill -0 $rmmod_pid 2>/dev/null ||
  fail "rmmod -f returned while a read was still inside the module: $(cat /tmp/rmmod.out)"
echo "ok: rmmod -f waits for the read blocked in the syscall"
dmesg | grep -q "removed by force with 1 call(s) in flight" ||
  fail "the kernel log does not say what the removal waits for"
echo "ok: the kernel log says the removal waits for 1 call"
kill "$(cat /tmp/writer.pid)"
i=0
while kill -0 $rmmod_pid 2>/dev/null; do
  i=$((i + 1))
  [ $i -le 100 ] || fail "rmmod -f did not return within 10 s of the read's return"
  usleep 100000
done
wait $rmmod_pid || fail "rmmod -f failed: $(cat /tmp/rmmod.out)"
echo "ok: rmmod -f returned once the read had"
wait $reader
grep -q "read: 0" /tmp/reader.out || fail "the read did not see its end of file: $(cat /tmp/reader.out)"
echo "ok: the read returned its end of file: $(cat /tmp/reader.out)"
if grep -q '^ftsc ' /proc/modules; then fail "the module is still listed: $(grep '^ftsc ' /proc/modules)"; fi
[ ! -d /sys/kernel/security/ftsc ] || fail "the control files are still there"
if dmesg | grep -E 'BUG:|Oops|general protection|RIP:'; then
  fail "the kernel log reports a problem after the forced removal"
fi
echo "ok: the module is gone and the kernel log is clean"

echo "--- 5. a task named with a newline cannot forge a status line"
run_expect 0 ftsc kmod load --module /ftsc/ftsc.ko /tmp/read.toml
start_reader "$(printf 'x\nin_flight: 0')"
wait_for "syscall=read state=syscall" 30
lines=$(grep -c '^in_flight:' /sys/kernel/security/ftsc/status)
[ "$lines" = 1 ] ||
  fail "the status has $lines in_flight lines: $(cat /sys/kernel/security/ftsc/status)"
echo "ok: the status has one in_flight line"
grep -qF 'comm=x\012in_flight:\0400' /sys/kernel/security/ftsc/status ||
  fail "the task's name is not escaped: $(cat /sys/kernel/security/ftsc/status)"
echo "ok: the name is escaped in the status"
run_expect 1 ftsc kmod unload --wait 0
output_has "1 call in flight holds it"
output_has '(x\012in_flight: 0), thread'
kill "$(cat /tmp/writer.pid)"
wait $reader
run_expect 0 ftsc kmod unload --wait 10
output_has "the module removed"

rmdir $CG
echo "unload: ok"
