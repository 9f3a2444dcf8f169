#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The ptrace engine's cost per syscall, measured side by side in one run:
#   outside  getppid, a syscall outside the policy (only the seccomp filter runs)
#   traced   a 1-byte write to /dev/null that the policy traces and that succeeds
# each natively, under `ftsc run --engine ptrace`, and under strace with a
# seccomp filter and an injection that never fires (so strace stops at entry
# and exit like ftsc, and prints nothing). Variants run interleaved, REPS
# times each, all pinned to one CPU (a ptrace stop costs far more when tracer
# and tracee sit on different CPUs); the report gives medians, their spread
# (min-max) and ratios.
#
# Usage: bench/syscall_cost.sh [BUILD_DIR]   (default: build; REPS=11)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
build="${1:-build}"
reps="${REPS:-11}"
prog="$build/bench/syscall_cost"
ftsc="$build/src/cli/ftsc"
[ -x "$prog" ] && [ -x "$ftsc" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
command -v strace >/dev/null || { echo "strace is not installed (apt-get install strace)" >&2; exit 1; }
cpu=$(taskset -cp $$ | sed 's/.*: *//; s/[,-].*//')
pin=(taskset -c "$cpu")

n_outside=2000000
n_traced=20000
policy=(--retry write=ENOSPC)
strace_cmd=(strace -f -o /dev/null --seccomp-bpf -e trace=write -e inject=write:delay_exit=1:when=65535)

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((i = 0; i < reps; i++)); do
  for kind in outside traced; do
    if [ "$kind" = outside ]; then mode=getppid n=$n_outside; else mode=write n=$n_traced; fi
    echo "$kind native $("${pin[@]}" "$prog" "$mode" "$n")" >>"$results"
    echo "$kind ftsc $("${pin[@]}" "$ftsc" run --engine ptrace "${policy[@]}" -- "$prog" "$mode" "$n")" >>"$results"
    echo "$kind strace $("${pin[@]}" "${strace_cmd[@]}" "$prog" "$mode" "$n")" >>"$results"
  done
done


echo "ftsc ptrace engine, cost per syscall in ns: median (min-max) of $reps runs, pinned to CPU $cpu"
echo
echo "| syscall | native | ftsc ptrace | strace | ftsc / native | ftsc / strace |"
echo "|---|---|---|---|---|---|"
for kind in outside traced; do
  read -r nm nlo nhi <<<"$(median "$results" "$kind" native)"
  read -r fm flo fhi <<<"$(median "$results" "$kind" ftsc)"
  read -r sm slo shi <<<"$(median "$results" "$kind" strace)"
  label=$([ "$kind" = outside ] && echo "getppid, outside the policy" || echo "write, traced, succeeds")
  awk -v l="$label" -v nm="$nm" -v nlo="$nlo" -v nhi="$nhi" -v fm="$fm" -v flo="$flo" -v fhi="$fhi" \
      -v sm="$sm" -v slo="$slo" -v shi="$shi" 'BEGIN {
    printf "| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.2fx | %.2fx |\n",
           l, nm, nlo, nhi, fm, flo, fhi, sm, slo, shi, fm / nm, fm / sm }'
done
