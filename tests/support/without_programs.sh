#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# without_programs.sh: runs a command on a machine where some programs are not
# installed.
#
#   without_programs.sh NAME[,NAME...] -- COMMAND [ARG...]
#
# Builds a directory of links to every program found in PATH except the named
# ones and runs COMMAND with PATH set to it alone, so that the command, and
# everything it starts, finds every program but those. (A program started by
# its absolute path is still found: the tests do not do that, and this proves
# it.) Exits with COMMAND's status.
set -euo pipefail

[ $# -ge 3 ] && [ "$2" = "--" ] || {
  echo "usage: without_programs.sh NAME[,NAME...] -- COMMAND [ARG...]" >&2
  exit 2
}
IFS=, read -r -a hidden <<<"$1"
shift 2

bin=$(mktemp -d "${TMPDIR:-/tmp}/ftsc-without-XXXXXX")
trap 'rm -rf "$bin"' EXIT
IFS=: read -r -a dirs <<<"$PATH"
# One ln per directory; a name already linked stays (the first in PATH wins,
# as in a search), which ln reports and this ignores.
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || continue
  entries=("$dir"/*)
  [ -e "${entries[0]}" ] || continue
  ln -s "${entries[@]}" "$bin/" 2>/dev/null || true
done
for h in "${hidden[@]}"; do
  rm -f "$bin/$h"
done
# Not exec: the trap removes the directory when the command is done.
status=0
PATH="$bin" "$@" || status=$?
exit "$status"
