# SPDX-License-Identifier: Apache-2.0
# Helpers for the in-VM test scripts (busybox sh). Each check prints what it
# checked; the first failed check ends the script with status 1.

# Functions keep their variables `local`: busybox sh shares them otherwise.
OUT=/tmp/check.out

fail() {
  echo "FAIL: $*"
  exit 1
}

# run_expect STATUS CMD...: runs CMD, shows its output, requires its exit status.
run_expect() {
  local want="$1" got
  shift
  echo "\$ $*"
  "$@" >"$OUT" 2>&1
  got=$?
  sed 's/^/  | /' "$OUT"
  [ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want"
  echo "ok: exit $got"
}

# output_has TEXT: the last command's output contains TEXT (a fixed string).
output_has() {
  grep -qF -- "$1" "$OUT" || fail "the output lacks '$1'"
  echo "ok: output has '$1'"
}

output_lacks() {
  if grep -qF -- "$1" "$OUT"; then fail "the output has '$1'"; fi
  echo "ok: output lacks '$1'"
}

status_has() {
  grep -qxF -- "$1" /sys/kernel/security/ftsc/status ||
    fail "the module's status lacks the line '$1'; it is: $(cat /sys/kernel/security/ftsc/status)"
  echo "ok: status has '$1'"
}

# stat_of SYSCALL ERRNO COUNTER: a counter of `ftsc kmod stats --json`, 0 if absent.
stat_of() {
  ftsc kmod stats --json >/tmp/stats.json || fail "ftsc kmod stats --json failed"
  tr -d ' \n' </tmp/stats.json | sed 's/},{/}\n{/g' |
    grep "\"errno\":\"$2\"" | grep "\"syscall\":\"$1\"" |
    sed -n "s/.*\"$3\":\([0-9]*\).*/\1/p" | head -n 1 | grep . || echo 0
}

# expect_stat SYSCALL ERRNO COUNTER VALUE
expect_stat() {
  local v
  v=$(stat_of "$1" "$2" "$3")
  [ "$v" = "$4" ] || fail "$1 $2 $3 is $v, expected $4"
  echo "ok: $1 $2 $3 is $v"
}

# unload_module: removes the module if it is loaded, whatever state it is in.
unload_module() {
  if [ -d /sys/kernel/security/ftsc ]; then
    ftsc kmod unload >/dev/null 2>&1 || fail "cannot remove the module between tests"
  fi
}
