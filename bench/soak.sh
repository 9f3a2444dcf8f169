#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The soak: a realistic workload under injected faults for a set time, under
# each userspace engine in turn, then checks that nothing was lost and ftsc
# left nothing behind.
#
# The workload (bench/soak/): a multi-threaded server that appends every record
# a client sends to a flat file with write + fsync and to a SQLite database,
# and acknowledges it only once both have it; several client processes that
# send numbered records one at a time, log each acknowledged seq, and connect
# again and send the record again after any error. soak_driver starts them all
# as ONE command under
#   ftsc run --engine ENGINE --policy bench/soak/soak.toml --inject ...
# with seeded probabilistic faults (p = 0.01 to 0.05) on write, pwrite64,
# fsync, openat, connect, accept4 and read. Faults ftsc gives up on (and
# fsync's, which the policy does not retry) reach the programs, which handle
# them: the client reconnects and resends, the server drops the connection
# and stores a resent record only once.
#
# Afterwards, per engine (the run fails if any check does):
#   - every record a client saw acknowledged is in the flat file and in the
#     database exactly once and intact (bench/soak/soak_check.cc);
#   - ftsc and the command exited 0, and no process of the run is left (ftsc
#     runs in a session of its own; nothing may remain in it);
#   - the server's open fd count is back to its count after start-up once the
#     clients are gone (soak_driver);
#   - the supervisor's RSS (VmRSS of the ftsc process) at the end is less than
#     10 % above its RSS shortly after start (once the clients run, after a
#     warm-up of SOAK_WARMUP seconds, default 5, at most half the run);
#   - ftsc's statistics (--stats) add up: every row's outcomes sum to its
#     calls, nothing is in flight; for every injected (syscall, errno) -- an
#     errno the workload never meets for real -- every injected fault is one of
#     the row's failed attempts, each counted as retried or as the end of a
#     call given up, passed or stopped by the budget; and every such failure a
#     program saw is one ftsc counted as given up or passed.
#
# Usage: bench/soak.sh [BUILD_DIR]    (default: build; build the `soak` target first)
#   SOAK_SECONDS  how long the clients send, per engine (default 60)
#   SOAK_ENGINES  the engines, in order (default "ptrace preload auto")
#   SOAK_CLIENTS  client processes (default 4)
#   SOAK_SEED     the injections' seed (default 1)
#   SOAK_KEEP=1   keep the work directories (always kept when a check fails)
#   FTSC_TEST_PROBE  the test suite's capability probe: when set, a machine
#                 whose loopback cannot serve skips the soak (exit 77)
set -euo pipefail
set +m  # background jobs stay in our process group, so setsid runs in-process
cd "$(dirname "$0")/.."
build="${1:-build}"
seconds="${SOAK_SECONDS:-60}"
engines="${SOAK_ENGINES:-ptrace preload auto}"
clients="${SOAK_CLIENTS:-4}"
seed="${SOAK_SEED:-1}"
warmup="${SOAK_WARMUP:-5}"
[ "$warmup" -le $((seconds / 2)) ] || warmup=$((seconds / 2))
ftsc="$build/src/cli/ftsc"
bin="$build/bench/soak"
for f in "$ftsc" "$bin/soak_server" "$bin/soak_client" "$bin/soak_driver" "$bin/soak_check"; do
  [ -x "$f" ] || { echo "soak: $f is missing: cmake --build $build --target soak" >&2; exit 2; }
done

if [ -n "${FTSC_TEST_PROBE:-}" ]; then
  probe=0
  why=$("$FTSC_TEST_PROBE" loopback) || probe=$?
  if [ "$probe" -eq 77 ]; then echo "soak: skipped: $why"; exit 77; fi
  [ "$probe" -eq 0 ] || { echo "soak: $FTSC_TEST_PROBE failed ($probe)" >&2; exit 2; }
fi

# SYSCALL=ERRNO:P. The errnos are ones these programs never meet for real, so
# that every failure of those rows is an injected one.
injections=(write=ENOSPC:0.01 pwrite64=ENOSPC:0.01 fsync=EIO:0.01 openat=EMFILE:0.02
  connect=ECONNREFUSED:0.05 accept4=ENOBUFS:0.05 read=EIO:0.02)
inject_flags=()
pairs=()
for i in "${injections[@]}"; do
  call="${i%%=*}" rest="${i#*=}"
  inject_flags+=(--inject "$call:error=${rest%%:*}:p=${rest#*:}:seed=$seed")
  pairs+=("$call=${rest%%:*}")
done

root=$(mktemp -d "${TMPDIR:-/tmp}/ftsc-soak.XXXXXX")
keep="${SOAK_KEEP:-0}"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# The processes of session $1 (pid and command line), from /proc.
session_members() {
  local stat p sid
  for stat in /proc/[0-9]*/stat; do
    p="${stat#/proc/}" p="${p%/stat}"
    # The fields after "(comm)": state ppid pgrp session ...
    sid=$( { sed 's/.*) //' "$stat" | awk '{ print $4 }'; } 2>/dev/null || true)
    if [ "$sid" = "$1" ]; then
      echo "$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null || true)"
    fi
  done
}

figure() { awk -v k="$2" '$1 == k { v = $2 } END { print (v == "" ? "?" : v) }' "$1" 2>/dev/null || echo "?"; }
ended_failing() {  # calls given up, passed or stopped by the budget
  awk '$1 == "gave_up" || $1 == "passed" || $1 == "budget" { s += $2 } END { print s + 0 }' "$1" 2>/dev/null || echo "?"
}

# kv FILE KEY: the value of KEY=VALUE words in FILE, summed over lines.
kv() { grep -ho "\b$2=[0-9]*" "$1"/*.out 2>/dev/null | awk -F= '{ s += $2 } END { print s + 0 }'; }

status=0
table=()
for engine in $engines; do
  dir="$root/$engine"
  mkdir -p "$dir"
  problems=()
  setsid "$ftsc" run --engine "$engine" --policy bench/soak/soak.toml "${inject_flags[@]}" \
    --stats "$dir/stats.json" -- \
    "$bin/soak_driver" "$dir" "$clients" "$seconds" "$bin/soak_server" "$bin/soak_client" \
    >"$dir/driver.txt" 2>"$dir/ftsc.err" &
  pid=$!
  start=$(date +%s)
  # RSS shortly after start: once the clients run, after the warm-up.
  until grep -q '^driver started' "$dir/driver.txt" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null; do
    sleep 0.2
  done
  sleep "$warmup"
  rss_start=$(rss_kib "$pid")
  rss_end="$rss_start" rss_peak="$rss_start"
  deadline=$((start + seconds + 180))
  while kill -0 "$pid" 2>/dev/null; do
    r=$(rss_kib "$pid")
    if [ -n "$r" ]; then
      rss_end="$r"
      [ "$r" -gt "${rss_peak:-0}" ] && rss_peak="$r"
    fi
    if [ "$(date +%s)" -gt "$deadline" ]; then
      problems+=("the run did not end within $((seconds + 180)) s")
      break
    fi
    sleep 1
  done
  rc=0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    sleep 2
  fi
  wait "$pid" || rc=$?
  elapsed=$(($(date +%s) - start))
  [ "$rc" -eq 0 ] || problems+=("ftsc run exited with $rc (see $dir/ftsc.err)")

  # No process of the run left: ftsc's session is empty.
  left=$(session_members "$pid")
  if [ -n "$left" ]; then
    problems+=("processes of the run are left: $(echo "$left" | tr '\n' ';')")
    for p in $(echo "$left" | awk '{ print $1 }'); do kill -KILL "$p" 2>/dev/null || true; done
  fi

  fds=$(grep -o 'server_fds_start=[0-9-]* server_fds_end=[0-9-]*' "$dir/driver.txt" || true)
  fds_start=$(echo "$fds" | sed -n 's/.*start=\([0-9-]*\).*/\1/p')
  fds_end=$(echo "$fds" | sed -n 's/.*end=\([0-9-]*\).*/\1/p')
  if [ -z "$fds_start" ] || [ "$fds_start" != "$fds_end" ]; then
    problems+=("the server's open fds: ${fds_start:-?} after start, ${fds_end:-?} at the end")
  fi

  if [ -z "$rss_start" ] || [ $((rss_end * 10)) -ge $((rss_start * 11)) ]; then
    problems+=("supervisor RSS grew by 10 % or more: ${rss_start:-?} KiB -> $rss_end KiB")
  fi

  if ! "$bin/soak_check" "$dir" "$clients" "$dir/stats.json" "${pairs[@]}" \
    >"$dir/figures.txt" 2>"$dir/check.err"; then
    while IFS= read -r line; do problems+=("$line"); done <"$dir/check.err"
  fi

  f="$dir/figures.txt"
  echo "== soak, engine $engine: ${seconds} s of clients, ${elapsed} s in all"
  echo "  records acknowledged   $(figure "$f" records_acked) (in the file $(figure "$f" records_in_log), in SQLite $(figure "$f" records_in_db), stored but not acknowledged $(figure "$f" stored_unacked))"
  echo "  faults injected        $(figure "$f" faults_injected)"
  echo "  calls that failed      $(figure "$f" calls_failed): retries $(figure "$f" retries), recovered $(figure "$f" recovered), gave up $(figure "$f" gave_up), passed $(figure "$f" passed), budget $(figure "$f" budget), guard unknown $(figure "$f" guard_unknown); waited $(figure "$f" waited_s) s"
  echo "  client reconnects      $(kv "$dir" reconnects), server drops $(kv "$dir" drops), SQLite errors $(kv "$dir" sqlite_errors)"
  echo "  server open fds        ${fds_start:-?} -> ${fds_end:-?}"
  echo "  supervisor RSS         ${rss_start:-?} KiB -> ${rss_end} KiB (peak ${rss_peak} KiB)"
  if [ "${#problems[@]}" -eq 0 ]; then
    verdict=ok
    echo "  result                 ok"
  else
    verdict=FAILED status=1 keep=1
    for p in "${problems[@]}"; do echo "  FAILED: $p"; done
    echo "  files                  $dir"
  fi
  table+=("| $engine | $seconds | $(figure "$f" records_acked) | $(figure "$f" faults_injected) | $(figure "$f" retries) | $(figure "$f" recovered) | $(ended_failing "$f") | $(kv "$dir" reconnects) | ${fds_start:-?} -> ${fds_end:-?} | ${rss_start:-?} -> ${rss_end} | $verdict |")
done

echo
echo "| engine | seconds | records acked | faults injected | retries | recovered | given up or passed | client reconnects | server fds | supervisor RSS, KiB | result |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${table[@]}"
if [ "$keep" = 1 ]; then echo "work directories: $root"; else rm -rf "$root"; fi
exit "$status"
