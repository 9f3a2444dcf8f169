#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What a policy with a connect rule costs a program that reads socket options
# under the ptrace engine, whose filter then stops getsockopt(SOL_SOCKET,
# SO_ERROR) to see non-blocking connects' outcomes (src/ptrace/async_connect.cc):
# bench/so_error_cost.c's three workloads (SO_ERROR reads, other reads,
# non-blocking connects to a loopback listener), natively, under ptrace with a
# connect rule, and under ptrace with a rule that does not name connect. Each
# variant REPS times, interleaved, pinned to one CPU; medians with min-max.
#
# Usage: bench/so_error_cost.sh [BUILD_DIR]   (default: build; REPS=7)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
build="${1:-build}"
reps="${REPS:-7}"
prog="$build/bench/so_error_cost"
ftsc="$build/src/cli/ftsc"
[ -x "$prog" ] && [ -x "$ftsc" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
cpu=$(taskset -cp $$ | sed 's/.*: *//; s/[,-].*//')
pin=(taskset -c "$cpu")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results"
declare -A n=([so_error]=20000 [other]=200000 [connect]=2000)
for ((i = 0; i < reps; i++)); do
  for kind in so_error other connect; do
    echo "$kind native $("${pin[@]}" "$prog" "$kind" "${n[$kind]}" 2>/dev/null | cut -d' ' -f2)" >>"$results"
    echo "$kind connect-rule $("${pin[@]}" "$ftsc" run --engine ptrace \
      --retry connect=ECONNREFUSED -- "$prog" "$kind" "${n[$kind]}" 2>/dev/null | cut -d' ' -f2)" >>"$results"
    echo "$kind other-rule $("${pin[@]}" "$ftsc" run --engine ptrace \
      --retry openat=ENOENT -- "$prog" "$kind" "${n[$kind]}" 2>/dev/null | cut -d' ' -f2)" >>"$results"
  done
done
printf '%-10s %-14s %10s %22s\n' workload variant "ns/op" "(min-max)"
for kind in so_error other connect; do
  for variant in native connect-rule other-rule; do
    read -r m lo hi <<<"$(median "$results" "$kind" "$variant")"
    printf '%-10s %-14s %10s %22s\n' "$kind" "$variant" "$m" "($lo-$hi)"
  done
done
