#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What profiling every syscall on the machine costs a cheap syscall, measured
# side by side in one run: getppid in a loop (bench/syscall_cost.c), pinned to
# one CPU,
#   native   nothing observes it
#   ftsc     `ftsc profile --system` (eBPF on raw_syscalls, counts in the kernel)
#   auditd   auditd recording with the research prototype's rule
#            `auditctl -a always,exit -F arch=b64 -S all` (every syscall on the
#            machine, written to a log file)
#   strace   `strace -c` following the loop alone
# Variants run interleaved, REPS times each; the report gives the median cost
# per call in ns, its spread (min-max) and ratios. auditd and strace are far
# slower, so they make fewer calls (the cost is per call either way).
#
# Usage (root): bench/profile_cost.sh [BUILD_DIR]   (default: build; REPS=5)
# Target: ftsc / native <= 1.5.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/common.sh
build="${1:-build}"
reps="${REPS:-5}"
prog="$build/bench/syscall_cost"
ftsc="$build/src/cli/ftsc"
[ -x "$prog" ] && [ -x "$ftsc" ] || { echo "build first: cmake --build $build" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (eBPF, auditd)" >&2; exit 1; }
for tool in strace auditd auditctl; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed (scripts/install-deps)" >&2; exit 1; }
done
if ! auditctl -s | grep -q '^pid 0$'; then
  echo "an audit daemon already runs; stop it first (the benchmark starts its own)" >&2
  exit 1
fi
cpu=$(taskset -cp $$ | sed 's/.*: *//; s/[,-].*//')
pin=(taskset -c "$cpu")
n_fast=2000000
n_slow=100000

work=$(mktemp -d)
audit_rule=(always,exit -F arch=b64 -S all)
audit_was_enabled=$(auditctl -s | awk '/^enabled/ { print $2 }')
cleanup() {
  auditctl -d "${audit_rule[@]}" >/dev/null 2>&1 || true
  [ -n "${auditd_pid:-}" ] && kill "$auditd_pid" 2>/dev/null && wait "$auditd_pid" 2>/dev/null
  [ "$audit_was_enabled" = 0 ] && auditctl -e 0 >/dev/null 2>&1
  [ -n "${ftsc_pid:-}" ] && kill "$ftsc_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/auditd.conf" <<CONF
local_events = yes
write_logs = yes
log_file = $work/audit.log
log_format = RAW
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 1024
num_logs = 1
max_log_file_action = ROTATE
space_left = 2
space_left_action = IGNORE
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
CONF

native() { "${pin[@]}" "$prog" getppid "$1"; }

with_ftsc() {
  "$ftsc" profile --system -q -o "$work/profile.json" >/dev/null 2>"$work/ftsc.err" &
  ftsc_pid=$!
  until grep -q "profiling" "$work/ftsc.err"; do sleep 0.05; done
  "${pin[@]}" "$prog" getppid "$1"
  kill -INT "$ftsc_pid"
  wait "$ftsc_pid"
  ftsc_pid=
}

with_auditd() {
  rm -f "$work/audit.log"
  auditd -n -c "$work" >/dev/null 2>&1 &
  auditd_pid=$!
  until ! auditctl -s | grep -q '^pid 0$'; do sleep 0.05; done
  auditctl -a "${audit_rule[@]}" >/dev/null
  "${pin[@]}" "$prog" getppid "$1"
  auditctl -d "${audit_rule[@]}" >/dev/null
  kill "$auditd_pid"
  wait "$auditd_pid" || true
  auditd_pid=
}

with_strace() { "${pin[@]}" strace -c -o /dev/null "$prog" getppid "$1"; }

results="$work/results"
for ((i = 0; i < reps; i++)); do
  echo "getppid native $(native $n_fast)" >>"$results"
  echo "getppid ftsc $(with_ftsc $n_fast)" >>"$results"
  echo "getppid auditd $(with_auditd $n_slow)" >>"$results"
  echo "getppid strace $(with_strace $n_slow)" >>"$results"
done

read -r nm nlo nhi <<<"$(median "$results" getppid native)"
echo "getppid under a profile of every syscall on the machine, ns per call:"
echo "median (min-max) of $reps runs, pinned to CPU $cpu, $(uname -r)"
echo
echo "| variant | ns per call | / native |"
echo "|---|---|---|"
for v in native ftsc auditd strace; do
  read -r m lo hi <<<"$(median "$results" getppid "$v")"
  label=$v
  case $v in
    ftsc) label="ftsc profile --system (eBPF)" ;;
    auditd) label="auditd, auditctl -a always,exit -S all" ;;
    strace) label="strace -c" ;;
  esac
  awk -v l="$label" -v m="$m" -v lo="$lo" -v hi="$hi" -v nm="$nm" \
    'BEGIN { printf "| %s | %.0f (%.0f-%.0f) | %.2fx |\n", l, m, lo, hi, m / nm }'
done
