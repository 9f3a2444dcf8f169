#!/bin/busybox sh
# SPDX-License-Identifier: Apache-2.0
# /init of the kernel lane's VM (busybox, no other userspace). Mounts what the
# tests need, runs every line of /ftsc/tests.list with a time limit, and
# reports on the serial console, which lane.sh splits into results:
#   @@FTSC-BEGIN NAME
#   ...the test's output...
#   @@FTSC-END NAME STATUS MILLISECONDS
# then @@FTSC-DONE, and powers off. A test line is "NAME SECONDS COMMAND...".
/bin/busybox --install -s /bin
export PATH=/ftsc/bin:/bin
export TMPDIR=/tmp
export HOME=/root
# kmod_run inserts the module from here when a test removed it
export FTSC_KMOD_MODULE=/ftsc/ftsc.ko

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t securityfs securityfs /sys/kernel/security
mount -t cgroup2 cgroup2 /sys/fs/cgroup
ip link set lo up
hostname ftsc-vm
# FUSE is a module in Debian's kernel (a scenario mounts a FUSE file system)
insmod /ftsc/fuse.ko

# What in the kernel log means the kernel found a fault: an oops, a BUG or
# WARNING (lockdep's reports and RCU's "suspicious RCU usage" are WARNINGs
# too), a general protection fault, a hung task, an RCU stall, a soft or hard
# lockup, a refcount_t saturation, and lockdep's other report titles.
KERNEL_FAULTS='BUG:|WARNING:|Oops|general protection|Call Trace|INFO: task|hung_task|RCU stall|detected stall|soft lockup|hard LOCKUP|refcount_t|circular locking|recursive locking|inconsistent lock state|lock held when returning|bad unlock balance|UBSAN:|KASAN:'

uptime_ms() {
  read -r up _ </proc/uptime
  echo "${up%.*}${up#*.}0"
}

echo "@@FTSC-VM $(uname -r), $(nproc) CPUs, $(sed -n 's/MemTotal: *//p' /proc/meminfo)"
while read -r name limit cmd; do
  case "$name" in '' | '#'*) continue ;; esac
  echo "@@FTSC-BEGIN $name"
  start=$(uptime_ms)
  # stdin from /dev/null; output straight to the console, so that a test
  # that hangs the VM still shows how far it got.
  timeout -s KILL "$limit" sh -c "$cmd" </dev/null 2>&1
  status=$?
  [ "$status" -eq 137 ] && echo "killed after ${limit}s in the VM"
  # The kernel log of this test (read and cleared, so that a long test cannot
  # push an earlier report out of the ring buffer): a fault fails the test.
  dmesg -c >/tmp/dmesg.test
  cat /tmp/dmesg.test >>/tmp/dmesg.txt
  if grep -E "$KERNEL_FAULTS" /tmp/dmesg.test >/tmp/dmesg.faults; then
    echo "the kernel log reports a fault during this test:"
    cat /tmp/dmesg.faults
    [ "$status" -ne 0 ] || status=1
  fi
  echo "@@FTSC-END $name $status $(($(uptime_ms) - start))"
done </ftsc/tests.list

# Last: the kernel log of the whole run (every test's part, and what came
# after the last) must hold no report of a fault.
echo "@@FTSC-BEGIN dmesg"
dmesg >>/tmp/dmesg.txt
if grep -E "$KERNEL_FAULTS" /tmp/dmesg.txt; then
  echo "the kernel log reports a problem (lines above); the whole log:"
  cat /tmp/dmesg.txt
  status=1
else
  grep -i ftsc /tmp/dmesg.txt
  echo "the kernel log is clean"
  status=0
fi
echo "@@FTSC-END dmesg $status 0"
echo "@@FTSC-DONE"
sync
poweroff -f
