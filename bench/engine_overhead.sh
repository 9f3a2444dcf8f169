#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The engines' cost when nothing fails, measured side by side in one run, on
# two workloads of bench/engine_overhead.c whose syscalls the policy names:
#   write  a loop of 1-byte writes to /dev/null (ns per write)
#   mmap   the seed paper's benchmark: mmap + munmap of 128 MiB, 8192 times
#          (mean rdtsc cycles of the mmap, as the paper reports it)
# each natively and under `ftsc run --engine preload | auto | ptrace`.
# Variants run interleaved, REPS times each, pinned to one CPU; the report
# gives medians, their spread (min-max) and ratios to native.
#
# Then instruction counts (valgrind's callgrind: repeatable whatever else the
# machine does): the program with N and with 2N writes, natively and with the
# preload library (LD_PRELOAD and a compiled policy, as `ftsc run` sets them
# up); the difference divided by N is the user-space instructions per write,
# start-up excluded. The in-process path is the same under auto; what auto
# adds is the seccomp filter in the kernel, which callgrind does not see.
#
# Usage: bench/engine_overhead.sh [BUILD_DIR]   (default: build; REPS=11)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
build="${1:-build}"
reps="${REPS:-11}"
prog="$build/bench/engine_overhead"
ftsc="$build/src/cli/ftsc"
library="$build/src/cli/libftsc-preload.so"
[ -x "$prog" ] && [ -x "$ftsc" ] && [ -f "$library" ] ||
  { echo "build first: cmake --build $build" >&2; exit 1; }
cpu=$(taskset -cp $$ | sed 's/.*: *//; s/[,-].*//')
pin=(taskset -c "$cpu")

n_write=2000000
n_mmap=8192
policy=(--retry write=ENOSPC --retry mmap,munmap=ENOMEM)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results"
for ((i = 0; i < reps; i++)); do
  for mode in write mmap; do
    if [ "$mode" = write ]; then n=$n_write; else n=$n_mmap; fi
    echo "$mode native $("${pin[@]}" "$prog" "$mode" "$n")" >>"$results"
    for engine in preload auto ptrace; do
      out=$("${pin[@]}" "$ftsc" run --engine "$engine" "${policy[@]}" -- "$prog" "$mode" "$n" \
        2>/dev/null)
      echo "$mode $engine $out" >>"$results"
    done
  done
done


echo "ftsc engines, no-fault cost: median (min-max) of $reps interleaved runs, pinned to CPU $cpu"
echo
echo "| workload | native | preload | auto | ptrace | preload / native | auto / native | ptrace / native |"
echo "|---|---|---|---|---|---|---|---|"
for mode in write mmap; do
  read -r nm nlo nhi <<<"$(median "$results" "$mode" native)"
  read -r pm plo phi <<<"$(median "$results" "$mode" preload)"
  read -r am alo ahi <<<"$(median "$results" "$mode" auto)"
  read -r tm tlo thi <<<"$(median "$results" "$mode" ptrace)"
  label=$([ "$mode" = write ] && echo "1-byte write, ns" || echo "mmap 128 MiB, cycles")
  awk -v l="$label" -v nm="$nm" -v nlo="$nlo" -v nhi="$nhi" -v pm="$pm" -v plo="$plo" \
      -v phi="$phi" -v am="$am" -v alo="$alo" -v ahi="$ahi" -v tm="$tm" -v tlo="$tlo" \
      -v thi="$thi" 'BEGIN {
    printf "| %s | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.0f (%.0f-%.0f) | %.3fx | %.3fx | %.2fx |\n",
           l, nm, nlo, nhi, pm, plo, phi, am, alo, ahi, tm, tlo, thi, pm / nm, am / nm, tm / nm }'
done

if ! command -v valgrind >/dev/null; then
  echo
  echo "(valgrind is not installed: no instruction counts)"
  exit 0
fi
"$ftsc" policy compile "${policy[@]}" -o "$work/policy.bin"
instructions() {  # N [preload] -> total instructions of the program
  local env=()
  [ "${2:-}" = preload ] && env=(env LD_PRELOAD="$library" FTSC_PRELOAD_POLICY="$work/policy.bin")
  "${env[@]}" valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$prog" write "$1" \
    >/dev/null 2>&1
  awk '/^summary:/ { print $2 }' "$work/cg.out"
}
n=100000
native=$(($(instructions $((2 * n))) - $(instructions $n)))
preload=$(($(instructions $((2 * n)) preload) - $(instructions $n preload)))
echo
echo "User-space instructions per 1-byte write (callgrind, $n writes' difference):"
awk -v n="$n" -v a="$native" -v b="$preload" 'BEGIN {
  printf "native %.2f, preload library %.2f: +%.2f instructions per call\n", a / n, b / n, (b - a) / n }'
