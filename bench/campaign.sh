#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What a fault-injection campaign costs: runs per second of `ftsc campaign` on
# a small program (tests/campaign/progs/ignores_errors: about 40 syscalls, a
# file of 8 lines), for --jobs 1 and the number of CPUs. Every run is a run
# host forked by ftsc, the command started and traced by the ptrace engine
# with one injection, its outputs digested and its directory removed; the two
# golden runs (under the ptrace collector, which stops at every syscall) are
# timed apart. The campaign runs REPS times per variant; the report gives the
# median runs per second and its spread (min-max).
#
# Usage: bench/campaign.sh [BUILD_DIR]   (default: build; REPS=3)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
build="${1:-build}"
reps="${REPS:-3}"
ftsc="$build/src/cli/ftsc"
prog="$build/tests/campaign/progs/ignores_errors"
[ -x "$prog" ] && [ -x "$ftsc" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
cpus=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo 8 >"$work/in"

results="$work/results"
: >"$results"
for ((rep = 0; rep < reps; rep++)); do
  for jobs in 1 "$cpus"; do
    start=$(date +%s.%N)
    "$ftsc" campaign -q --no-policy --jobs "$jobs" --compare '{}/out' -o "$work/c.json" -- \
      "$prog" "$work/in" '{}/out'
    end=$(date +%s.%N)
    read -r runs golden < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(len(c["runs"]), c["golden"]["duration_s"])' "$work/c.json")
    # The fault runs alone: the whole campaign less the two golden runs.
    awk -v r="$runs" -v s="$start" -v e="$end" -v g="$golden" -v j="$jobs" \
      'BEGIN { printf "runs_per_s jobs%s %.2f\n", j, r / (e - s - 2 * g);
               printf "golden_ms jobs%s %.1f\n", j, g * 1000 }' >>"$results"
    echo "$runs" >"$work/runs"
  done
done

echo "ftsc campaign on ignores_errors ($(cat "$work/runs") fault runs, $reps campaigns each, $cpus CPUs)"
printf '%-10s %14s %16s %14s\n' jobs "runs/s median" "(min-max)" "golden run ms"
for jobs in 1 "$cpus"; do
  read -r m lo hi < <(median "$results" runs_per_s "jobs$jobs"; echo)
  read -r g _ _ < <(median "$results" golden_ms "jobs$jobs"; echo)
  printf '%-10s %14s %16s %14s\n' "$jobs" "$m" "($lo-$hi)" "$g"
done
