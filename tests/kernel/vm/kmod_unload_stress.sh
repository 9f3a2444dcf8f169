#!/bin/sh
# Unload stress, in the VM: load, replace and unload policies (and remove and
# reinsert the module) over and over while kmod_stress's threads keep hooked
# syscalls busy: asleep in backoffs (openat ENOENT), blocked inside read until
# the test feeds their pipes (SIGUSR2), and succeeding (mmap, munmap).
# Nothing may crash or hang, every unload either succeeds or fails at once
# naming the calls that hold the module, the module can always be removed
# once they return, and the threads see exactly the results the syscalls give
# without the module.
. /ftsc/tests/lib.sh
unload_module
CYCLES=${1:-15}
CG=/sys/fs/cgroup/ftsc-stress
mkdir -p $CG

policy() {  # policy FILE SYSCALLS
  cat >"$1" <<EOF
version = 1
[defaults]
backoff = ["1ms", "2ms", "5ms"]
[[rule]]
syscalls = $2
retry = ["ENOENT", "EIO", "ENOMEM"]
[target]
cgroup = "/ftsc-stress"
EOF
}
policy /tmp/stress-a.toml '["openat", "read", "mmap", "munmap"]'
policy /tmp/stress-b.toml '["openat", "read"]'

(echo 0 >$CG/cgroup.procs && exec kmod_stress 600 /tmp/stress-missing) \
  >/tmp/stress.out 2>&1 &
stress_pid=$!

busy=0
i=0
while [ $i -lt $CYCLES ] && kill -0 $stress_pid 2>/dev/null; do
  i=$((i + 1))
  echo "cycle $i"
  ftsc kmod load --module /ftsc/ftsc.ko /tmp/stress-a.toml >$OUT 2>&1 ||
    { cat $OUT; fail "cycle $i: load a failed"; }
  # The readers' reads began unhooked: let them return and read again, hooked.
  kill -USR2 $stress_pid
  usleep 50000
  ftsc kmod load /tmp/stress-b.toml >$OUT 2>&1 || { cat $OUT; fail "cycle $i: a -> b failed"; }
  usleep 50000
  ftsc kmod load /tmp/stress-a.toml >$OUT 2>&1 || { cat $OUT; fail "cycle $i: b -> a failed"; }
  usleep 50000
  if [ $((i % 2)) -eq 0 ]; then
    # detach only, then load again at once
    ftsc kmod unload --keep-module >$OUT 2>&1 || { cat $OUT; fail "cycle $i: detach failed"; }
    ftsc kmod load /tmp/stress-b.toml >$OUT 2>&1 ||
      { cat $OUT; fail "cycle $i: load after detach failed"; }
  fi
  # Unload without waiting: calls blocked in read may hold the module.
  if ! ftsc kmod unload --wait 0 >$OUT 2>&1; then
    grep -q "in flight hold" $OUT || { cat $OUT; fail "cycle $i: unload failed for another reason"; }
    [ $busy -gt 0 ] || { echo "cycle $i, the first unload refused:"; cat $OUT; }
    busy=$((busy + 1))
    # Once the readers' reads return, the module must go.
    kill -USR2 $stress_pid
    ftsc kmod unload --wait 10 >$OUT 2>&1 ||
      { cat $OUT; fail "cycle $i: the module stayed after its calls returned"; }
  fi
  [ ! -d /sys/kernel/security/ftsc ] || fail "cycle $i: the module is still there after unload"
done
echo "$i cycles: the module was removed $i times, $busy of them after calls in flight returned"
[ $busy -gt 0 ] || fail "no unload met a call in flight: the stress did not stress"
kill -0 $stress_pid 2>/dev/null || fail "kmod_stress ended before the cycles did: $(cat /tmp/stress.out)"
kill -USR1 $stress_pid
wait $stress_pid
status=$?
cat /tmp/stress.out
[ $status -eq 0 ] || fail "kmod_stress saw wrong results (status $status)"
rmdir $CG
echo "unload stress: ok"
