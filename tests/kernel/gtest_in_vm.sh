#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# gtest_in_vm.sh BINARY FILTER: runs the GoogleTest tests FILTER selects from
# BINARY inside the kernel lane's VM, for tests whose capability the host may
# lack but Debian's kernel has (a 32-bit program, the int 0x80 entry). The
# binary, ftsc and the programs the tests run sit in the VM at their paths of
# the build tree, so the tests run unchanged. Exits as GoogleTest did, but 77
# when a test skipped: what the VM was meant to prove would otherwise pass
# unproved.
out=/tmp/gtest_in_vm.$$
"$1" --gtest_filter="$2" >"$out" 2>&1
status=$?
cat "$out"
[ "$status" -eq 0 ] || exit "$status"
if grep -q '^\[  SKIPPED \]' "$out"; then
  echo "a test skipped in the VM too"
  exit 77
fi
grep -q '^\[       OK \]' "$out" || { echo "no test ran"; exit 1; }
exit 0
