#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# expect_skip.sh: takes a capability away and checks that the tests needing it
# skip with their reason instead of failing.
#
#   expect_skip.sh [--needs PROBE,...] [--refuse SYSCALL,...] [--without PROGRAM,...]
#                  [--no-loopback] [--no-cgroup2] REASON -- COMMAND [ARG...]
#
#   --needs        capabilities the tests check before the one taken away
#                  (ftsc_test_probe names, through $FTSC_TEST_PROBE): where one
#                  is missing, they skip for it and nothing is proved (77)
#   --refuse       the syscalls fail with EPERM, as under a container's seccomp
#                  profile (refuse_syscalls, found through $REFUSE_SYSCALLS)
#   --without      the programs are not in PATH (without_programs.sh)
#   --no-loopback  a network namespace of its own, whose loopback is down
#   --no-cgroup2   a mount namespace of its own, where the cgroup v2
#                  hierarchy is read-only
#
# COMMAND is a GoogleTest binary (with --gtest_filter) or anything that skips
# with exit 77 (a scenario, lane.sh). It passes when the command skipped and
# its output matches REASON (grep -E): for GoogleTest, exit 0 with every test
# that ran skipped (none failed, none passed silently); otherwise exit 77.
# Exits 77 itself when the capability cannot be taken away here (the
# namespaces need root), 1 when the command did not skip as it should.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

prefix=()
namespaces=0
while [ $# -gt 0 ]; do
  case "$1" in
    --refuse)
      [ -x "${REFUSE_SYSCALLS:-}" ] || { echo "expect_skip.sh: set REFUSE_SYSCALLS to the refuse_syscalls program" >&2; exit 2; }
      prefix+=("$REFUSE_SYSCALLS" "$2" --)
      shift 2 ;;
    --needs)
      IFS=, read -r -a needed <<<"$2"
      for probe in "${needed[@]}"; do
        if ! why=$("${FTSC_TEST_PROBE:?set FTSC_TEST_PROBE to ftsc_test_probe}" "$probe"); then
          echo "skipped: nothing to prove here, the tests already skip for $probe: $why"
          exit 77
        fi
      done
      shift 2 ;;
    --without) prefix+=("$here/without_programs.sh" "$2" --); shift 2 ;;
    --no-loopback) prefix+=(unshare --net); namespaces=1; shift ;;
    --no-cgroup2)
      prefix+=(unshare --mount --propagation private "$here/expect_skip.sh" --readonly-cgroup2)
      namespaces=1
      shift ;;
    --readonly-cgroup2)
      # (inside the mount namespace --no-cgroup2 made)
      mount=$(awk '$0 ~ / - cgroup2 / { print $5; exit }' /proc/self/mountinfo)
      [ -z "$mount" ] || mount -o remount,bind,ro "$mount" || exit 77
      shift
      exec "$@" ;;
    *) break ;;
  esac
done
[ $# -ge 3 ] && [ "$2" = "--" ] || {
  echo "usage: expect_skip.sh [OPTIONS] REASON -- COMMAND [ARG...]" >&2
  exit 2
}
reason="$1"
shift 2

# A namespace needs CAP_SYS_ADMIN: without it, nothing can be proved here.
if [ "$namespaces" -eq 1 ] && ! unshare --net --mount true 2>/dev/null; then
  echo "skipped: cannot make a namespace here (needs root) to take the capability away"
  exit 77
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
"${prefix[@]}" "$@" >"$out" 2>&1 || status=$?
cat "$out"
echo "---- expect_skip.sh: the command exited $status"

fail() {
  echo "FAIL: $*"
  exit 1
}
grep -Eq -- "$reason" "$out" || fail "its output does not give the reason /$reason/"
if grep -q '^\[==========\]' "$out"; then
  [ "$status" -eq 0 ] || fail "GoogleTest exited $status"
  ran=$(grep -c '^\[ RUN      \]' "$out" || true)
  skipped=$(grep -Ec '^\[  SKIPPED \] .* \([0-9]+ ms\)$' "$out" || true)
  [ "$ran" -gt 0 ] || fail "no test ran (is the filter right?)"
  [ "$skipped" -eq "$ran" ] || fail "$ran tests ran, $skipped of them skipped"
  echo "ok: all $ran tests skipped with the reason"
else
  [ "$status" -eq 77 ] || fail "expected exit 77 (skipped)"
  echo "ok: skipped with the reason"
fi
