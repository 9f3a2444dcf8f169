#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The engines' cost when nothing fails, measured side by side in one run, on
# two workloads of bench/engine_overhead.c whose syscalls the policy names:
#   write  a loop of 1-byte writes to /dev/null (ns per write)
#   mmap   the seed paper's benchmark: mmap + munmap of 128 MiB, 8192 times
#          (mean rdtsc cycles of the mmap, as the paper reports it)
# each natively and under `ftsc run --engine preload | auto | ptrace`, and two
# for the policy's connect rule, which makes the library wrap poll and
# remember non-blocking connects (both succeed here: the cost when nothing
# fails):
#   poll     a loop of polls of a writable pipe (ns per poll)
#   connect  non-blocking connects to a loopback listener, as event loops
#            make them: connect, poll, SO_ERROR, accept (ns per connect)
# Variants run interleaved, REPS times each, pinned to one CPU; the report
# gives medians, their spread (min-max) and ratios to native.
#
# Then instruction counts (valgrind's callgrind: repeatable whatever else the
# machine does): the program with N and with 2N writes (polls, connects),
# natively and with the preload library (LD_PRELOAD and a compiled policy, as
# `ftsc run` sets them up); the difference divided by N is the user-space
# instructions per call, start-up excluded. The in-process path is the same under auto; what auto
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
n_poll=2000000
n_connect=20000
policy=(--retry write=ENOSPC --retry mmap,munmap=ENOMEM --retry connect=ECONNREFUSED)
modes=(write mmap poll connect)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results"
for ((i = 0; i < reps; i++)); do
  for mode in "${modes[@]}"; do
    n_var="n_$mode"
    n=${!n_var}
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
for mode in "${modes[@]}"; do
  read -r nm nlo nhi <<<"$(median "$results" "$mode" native)"
  read -r pm plo phi <<<"$(median "$results" "$mode" preload)"
  read -r am alo ahi <<<"$(median "$results" "$mode" auto)"
  read -r tm tlo thi <<<"$(median "$results" "$mode" ptrace)"
  case $mode in
    write) label="1-byte write, ns" ;;
    mmap) label="mmap 128 MiB, cycles" ;;
    poll) label="poll of a pipe, ns" ;;
    connect) label="non-blocking connect, ns" ;;
  esac
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
instructions() {  # MODE N [preload] -> total instructions of the program
  local env=()
  [ "${3:-}" = preload ] && env=(env LD_PRELOAD="$library" FTSC_PRELOAD_POLICY="$work/policy.bin")
  "${env[@]}" valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" "$prog" "$1" "$2" \
    >/dev/null 2>&1
  awk '/^summary:/ { print $2 }' "$work/cg.out"
}
echo
echo "User-space instructions per call (callgrind, the difference between N and 2N calls):"
for mode in write poll connect; do
  if [ "$mode" = connect ]; then n=2000; else n=100000; fi
  native=$(($(instructions "$mode" $((2 * n))) - $(instructions "$mode" $n)))
  preload=$(($(instructions "$mode" $((2 * n)) preload) - $(instructions "$mode" $n preload)))
  awk -v m="$mode" -v n="$n" -v a="$native" -v b="$preload" 'BEGIN {
    printf "%s: native %.2f, preload library %.2f: +%.2f instructions per call\n", m, a / n, b / n, (b - a) / n }'
done
