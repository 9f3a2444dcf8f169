#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Unload stress, in the VM: CYCLES times (1000 in the lane), insert the
# module, load, replace and detach policies, and remove the module, while
# kmod_stress's seven threads keep hooked syscalls busy in a cgroup of their
# own: two in and out of short backoffs (openat ENOENT), two asleep in 10 s
# backoffs (openat ENOTDIR) under the current policy or one replaced since,
# two blocked inside read until the test feeds their pipes (SIGUSR2), and
# one succeeding (mmap, munmap). kmod_cycles drives the cycles and checks
# each unload: every sleeper is woken by the detach, only reads inside the
# syscall may hold the module, and once they return the module goes. Nothing
# may crash or hang (the kernel log is checked after the test by vm-init.sh),
# and the threads must see exactly the results the syscalls give without the
# module.
. /ftsc/tests/lib.sh
unload_module
CYCLES=${1:-15}
CG=/sys/fs/cgroup/ftsc-stress
mkdir -p $CG
echo x >/tmp/stress-file

(echo 0 >$CG/cgroup.procs && exec kmod_stress 3600 /tmp/stress-missing /tmp/stress-file/below) \
  >/tmp/stress.out 2>&1 &
stress_pid=$!

kmod_cycles "$CYCLES" /ftsc/ftsc.ko /ftsc-stress $stress_pid
cycles_status=$?
# Whatever happened, the module must be removable now that the test stops.
unload_module
kill -0 $stress_pid 2>/dev/null || fail "kmod_stress ended before the cycles did: $(cat /tmp/stress.out)"
kill -USR1 $stress_pid
wait $stress_pid
status=$?
cat /tmp/stress.out
[ $cycles_status -eq 0 ] || fail "the cycles failed (above)"
[ $status -eq 0 ] || fail "kmod_stress saw wrong results (status $status)"
rmdir $CG
echo "unload stress: ok"
