#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Each man page renders without a warning from man(1) and groff: no unknown
# macro, no line that cannot be broken at 80 columns, no bad character.
# Usage: man_warnings_test.sh PAGE...
set -euo pipefail
[ "$#" -gt 0 ] || { echo "usage: man_warnings_test.sh PAGE..."; exit 2; }
status=0
for page in "$@"; do
  if [ ! -s "$page" ]; then
    echo "$page: missing or empty (is the ftsc_man target built?)"
    status=1
    continue
  fi
  warnings=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null) || {
    echo "$page: man failed: $warnings"
    status=1
    continue
  }
  lines=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -E UTF-8 -l "$page" 2>/dev/null | wc -l)
  if [ -n "$warnings" ]; then
    echo "$page: man --warnings:"
    echo "$warnings"
    status=1
  elif [ "$lines" -lt 40 ]; then
    echo "$page: renders to $lines lines only"
    status=1
  else
    echo "$page: $lines lines, no warnings"
  fi
done
exit "$status"
