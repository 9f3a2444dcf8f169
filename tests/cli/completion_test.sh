#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Sources the bash completion into this bash, sets COMP_LINE, COMP_POINT,
# COMP_WORDS and COMP_CWORD as bash does for a command line, calls the
# completion function and checks COMPREPLY. The names it expects come from
# the binary (its --help and its knowledge base), as the completion's do.
# Usage: completion_test.sh COMPLETION_FILE FTSC
set -uo pipefail
completion=${1:?usage: completion_test.sh COMPLETION_FILE FTSC}
ftsc=${2:?usage: completion_test.sh COMPLETION_FILE FTSC}
# shellcheck source=/dev/null
source "$completion" || { echo "cannot source $completion"; exit 1; }
complete -p ftsc >/dev/null || { echo "$completion does not register a completion for ftsc"; exit 1; }

failures=0
checks=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# complete_line LINE: COMPREPLY for LINE with the cursor at its end, the
# words split as bash splits them (at blanks, and around COMP_WORDBREAKS).
complete_line() {
  local line=$1 word c i
  COMP_LINE=$line
  COMP_POINT=${#line}
  COMP_WORDS=()
  word=""
  for ((i = 0; i < ${#line}; i++)); do
    c=${line:i:1}
    if [[ $c == [[:space:]] ]]; then
      [[ -n $word ]] && COMP_WORDS+=("$word")
      word=""
    elif [[ $c == [=:] ]]; then
      [[ -n $word && $word != *[=:] ]] && { COMP_WORDS+=("$word"); word=""; }
      word+=$c
    else
      [[ $word == *[=:] ]] && { COMP_WORDS+=("$word"); word=""; }
      word+=$c
    fi
  done
  if [[ -n $word || $line == *[[:space:]] ]]; then COMP_WORDS+=("$word"); fi
  COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
  COMPREPLY=()
  _ftsc ftsc "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>"$work/stderr"
  if [[ -s $work/stderr ]]; then
    echo "FAIL: '$line': the completion wrote to stderr:"
    cat "$work/stderr"
    failures=$((failures + 1))
  fi
}

fail() {
  echo "FAIL: '$1': $2"
  echo "  COMPREPLY (${#COMPREPLY[@]}): ${COMPREPLY[*]:0:20}"
  failures=$((failures + 1))
}

# expect_has LINE WORD...: each WORD is offered.
expect_has() {
  local line=$1 w r found
  shift
  complete_line "$line"
  checks=$((checks + 1))
  for w in "$@"; do
    found=0
    for r in "${COMPREPLY[@]}"; do [[ $r == "$w" ]] && found=1; done
    [[ $found == 1 ]] || fail "$line" "'$w' is not offered"
  done
}

# expect_only LINE WORD...: exactly these words are offered (in any order).
expect_only() {
  local line=$1
  shift
  complete_line "$line"
  checks=$((checks + 1))
  local want got
  want=$(printf '%s\n' "$@" | sort)
  got=$(printf '%s\n' "${COMPREPLY[@]}" | sort)
  [[ $want == "$got" ]] || fail "$line" "want exactly: $*"
}

# expect_all_match PATTERN LINE: every word offered matches PATTERN, and some are.
expect_all_match() {
  local pattern=$1 line=$2 r
  complete_line "$line"
  checks=$((checks + 1))
  [[ ${#COMPREPLY[@]} -gt 0 ]] || fail "$line" "nothing offered"
  for r in "${COMPREPLY[@]}"; do
    [[ $r == $pattern ]] || { fail "$line" "'$r' does not match $pattern"; return; }
  done
}

f=$ftsc
# Verbs and subverbs: those the binary's --help lists.
verbs=$("$f" --help | awk '/^Subcommands:/ { on = 1; next } on && /^$/ { exit }
                           on && /^  [a-z]/ { print $1 }')
[[ -n $verbs ]] || { echo "FAIL: $f --help lists no verbs"; exit 1; }
# shellcheck disable=SC2086
expect_only "$f " $verbs
expect_only "$f r" run
expect_only "$f po" policy
expect_has "$f policy " check show explain import export compile groups suggest syscalls errnos
expect_only "$f policy ex" explain export
expect_has "$f kmod " load status stats unload

# Options, per verb.
expect_has "$f run --" --policy --retry --backoff --inject --table --engine --stats --metrics \
  --verbose --dry-run --help --
expect_only "$f run --eng" --engine
expect_has "$f profile --" --system --duration --cgroup --pid --comm --tracer --from-audit \
  --output --report --rows --quiet
expect_has "$f campaign --" --compare --check --syscalls --errnos --all-errnos --occurrences \
  --max-runs --seed --policy --jobs --workdir --timeout --output --quiet --
expect_has "$f campaign --syscalls read,wri" read,write read,writev
expect_only "$f campaign --errnos ENOSP" ENOSPC
expect_only "$f kmod unload --" --help --keep-module --wait
expect_only "$f kmod stats --" --help --json --prometheus
expect_has "$f policy compile -" -o --output --dry-run --retry
complete_line "$f policy check --"
for r in "${COMPREPLY[@]}"; do
  [[ $r == --engine ]] && fail "$f policy check --" "offers run's --engine"
done

# Choices: the engines, the tracers.
expect_only "$f run --engine " ptrace preload auto kmod
expect_only "$f run --engine p" ptrace preload
expect_only "$f run --engine=p" ptrace preload
expect_only "$f profile --tracer e" ebpf
expect_only "$f run -v --engine a" auto

# Syscall names and errnos, from the knowledge base.
expect_has "$f run --retry open" open openat openat2
expect_has "$f run --retry %" %file %network %memory
expect_all_match 'mmap*' "$f run --retry mm"
expect_only "$f run --retry openat=ENOEN" ENOENT
expect_has "$f run --retry openat=ENOE" ENOENT ENOEXEC
# bash replaces the text after the last '=': the errnos before the comma stay.
expect_has "$f run --retry openat,open=ENOENT,ENO" ENOENT,ENOMEM ENOENT,ENOSPC
expect_all_match 'ENOENT,ENO*' "$f run --retry openat,open=ENOENT,ENO"
expect_has "$f run --retry=openat=EAG" EAGAIN
expect_has "$f policy check --retry connect=ECONN" ECONNREFUSED ECONNRESET
expect_has "$f run --inject openat:" error= when= p= seed=
expect_only "$f run --inject openat:error=ENOEN" ENOENT
expect_has "$f run --inject openat,read:when=1..2:error=EIN" EINTR EINVAL
expect_all_match 'EIN*' "$f run --inject openat,read:when=1..2:error=EIN"
expect_has "$f policy explain app.toml mm" mmap
expect_has "$f policy explain app.toml mmap ENOM" ENOMEM
expect_has "$f policy groups %" %file %network
# Every syscall the binary knows is offered, and nothing else.
nsys=$("$f" policy syscalls | grep -vc '^#')
complete_line "$f policy explain x.toml "
checks=$((checks + 1))
[[ ${#COMPREPLY[@]} == "$nsys" ]] || fail "$f policy explain x.toml " \
  "${#COMPREPLY[@]} syscalls offered, the binary knows $nsys"

# Files where a file is expected.
mkdir -p "$work/dir"
touch "$work/app.toml" "$work/app.json" "$work/other.txt"
expect_only "$f run --policy $work/app." "$work/app.toml" "$work/app.json"
expect_only "$f policy check $work/app.t" "$work/app.toml"
expect_only "$f policy import -o $work/o" "$work/other.txt"
expect_only "$f profile --report $work/d" "$work/dir"
expect_only "$f profile --cgroup $work/" "$work/dir"
expect_only "$f policy explain $work/app.t" "$work/app.toml"
# ... and none where none is: a delay, a number.
expect_only "$f run --backoff 10" 

# After `--`, the command: a program, then its files.
expect_has "$f run --retry openat=ENOENT -- bas" bash
expect_only "$f run -- cat $work/app.j" "$work/app.json"
# Options after the command belong to it, not to ftsc.
expect_only "$f run -- cat --eng"

echo "$checks checks, $failures failed"
[[ $failures == 0 ]]
