#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Smoke test, in the VM: the module loads into Debian's kernel, creates its
# control files, reports no policy, and unloads; the ftsc CLI runs.
set -e
echo "kernel $(uname -r)"
ftsc --version
insmod /ftsc/ftsc.ko
test -d /sys/kernel/security/ftsc || { echo "no control files after insmod"; exit 1; }
cat /sys/kernel/security/ftsc/status
grep -qx 'policy: none' /sys/kernel/security/ftsc/status
grep -qx 'in_flight: 0' /sys/kernel/security/ftsc/status
rmmod ftsc
if test -e /sys/kernel/security/ftsc; then
  echo "control files are still there after rmmod"
  exit 1
fi
echo "smoke: ok"
