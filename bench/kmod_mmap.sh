#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The research prototype's overhead benchmark for the kernel engine: the mean
# rdtsc cycles of an mmap of 128 MiB (bench/kmod_mmap.c), natively and with
# mmap hooked by the ftsc module, as a ratio. Runs as root where the module
# can be loaded; the kernel lane runs it in its QEMU VM (test
# kernel.bench.kmod_mmap), where TCG makes the figures indicative only.
#
#   kmod_mmap.sh [ITERATIONS [RUNS [MODULE]]]     defaults: 8192 5 /ftsc/ftsc.ko
#
# Three ways, interleaved RUNS times so that drift hits all alike:
#   native      no policy loaded: no hook on mmap
#   untargeted  mmap hooked, but the policy targets another cgroup: the
#               ftrace callback runs and lets the call go
#   targeted    mmap hooked and the process targeted: every call goes through
#               the wrapper (and succeeds, so nothing is retried)
set -eu
ITERATIONS=${1:-8192}
RUNS=${2:-5}
MODULE=${3:-/ftsc/ftsc.ko}
BENCH=${KMOD_MMAP:-kmod_mmap}
ROOT=/sys/fs/cgroup
mkdir -p $ROOT/ftsc-bench $ROOT/ftsc-bench-other

policy() {  # policy FILE CGROUP
  cat >"$1" <<EOF
version = 1
[defaults]
backoff = ["1ms"]
[[rule]]
syscalls = ["mmap"]
retry = ["ENOMEM"]
[target]
cgroup = "$2"
EOF
}
policy /tmp/bench-targeted.toml /ftsc-bench
policy /tmp/bench-untargeted.toml /ftsc-bench-other

measure() {  # measure [ARGS]: the benchmark in the ftsc-bench cgroup
  (echo 0 >$ROOT/ftsc-bench/cgroup.procs && exec "$BENCH" "$ITERATIONS" "$@")
}
cycles() { sed -n 's/^mean_cycles //p'; }

native=""
untargeted=""
targeted=""
ftsc kmod load --module "$MODULE" /tmp/bench-untargeted.toml >/dev/null
r=0
while [ $r -lt "$RUNS" ]; do
  r=$((r + 1))
  ftsc kmod unload --keep-module >/dev/null
  native="$native $(measure | cycles)"
  ftsc kmod load /tmp/bench-untargeted.toml >/dev/null
  untargeted="$untargeted $(measure | cycles)"
  ftsc kmod load /tmp/bench-targeted.toml >/dev/null
  targeted="$targeted $(measure | cycles)"
done

# The targeted runs really went through the hook: one failing mmap is counted.
measure --enomem | grep -q "enomem ok"
ftsc kmod stats --json | tr -d ' \n' | grep -q '"syscall":"mmap","syscall_nr":9,"errno":"ENOMEM","errno_nr":12,"calls":1,' || {
  echo "kmod_mmap.sh: the targeted process's mmap was not seen by the module" >&2
  exit 1
}
ftsc kmod unload >/dev/null
rmdir $ROOT/ftsc-bench $ROOT/ftsc-bench-other

mean() { echo "$@" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }'; }
n=$(mean $native)
u=$(mean $untargeted)
t=$(mean $targeted)
echo "mmap of 128 MiB, mean rdtsc cycles, $RUNS runs x $ITERATIONS calls each way"
echo "  native (no hook)            $n   per run:$native"
echo "  hooked, process untargeted  $u   per run:$untargeted"
echo "  hooked, process targeted    $t   per run:$targeted"
awk -v n="$n" -v u="$u" -v t="$t" 'BEGIN {
  printf "ratio untargeted/native %.3f, targeted/native %.3f\n", u / n, t / n }'
