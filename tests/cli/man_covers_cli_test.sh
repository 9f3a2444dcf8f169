#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ftsc(1) cannot fall behind the command line: every verb `ftsc --help` lists
# has its subsection in VERBS, every subverb is named there, and every long
# option that `ftsc VERB [SUBVERB] --help` lists appears in its verb's
# subsection (--help, ftsc's own option, in the page).
# Usage: man_covers_cli_test.sh FTSC PAGE
set -euo pipefail
ftsc=${1:?usage: man_covers_cli_test.sh FTSC PAGE}
page=${2:?usage: man_covers_cli_test.sh FTSC PAGE}
[ -s "$page" ] || { echo "$page: missing or empty (is the ftsc_man target built?)"; exit 1; }
# Wide enough that no paragraph is broken, so no option is hyphenated.
text=$(MANWIDTH=1000 LC_ALL=C.UTF-8 man -E UTF-8 -l "$page" 2>/dev/null | col -bx)

# subcommands ARGS...: what `ftsc ARGS... --help` lists under Subcommands.
subcommands() {
  "$ftsc" "$@" --help | awk '/^Subcommands:/ { on = 1; next } on && /^$/ { exit }
                             on && /^  [a-z]/ { print $1 }'
}
# long_options ARGS...: the long options `ftsc ARGS... --help` lists.
long_options() {
  "$ftsc" "$@" --help | awk '/^Options:/ { on = 1; next } on && /^$/ { exit }
                             on && /^  -/ { n = split($1, names, ","); for (i = 1; i <= n; i++)
                               if (names[i] ~ /^--/) print names[i] }'
}
# section VERB: the text of the subsection "ftsc VERB ..." of VERBS.
section() {
  awk -v head="   ftsc $1" '
    index($0, head) == 1 && (length($0) == length(head) || substr($0, length(head) + 1, 1) == " ") {
      on = 1; next }
    on && (/^   [^ ]/ || /^[^ ]/) { exit }
    on { print }' <<<"$text"
}
mentions() {  # mentions TEXT OPTION: OPTION stands as a word of its own in TEXT
  grep -Eq -- "(^|[^a-z0-9-])$2([^a-z0-9-]|\$)" <<<"$1"
}

missing=0
checked=0
verbs=$(subcommands)
[ -n "$verbs" ] || { echo "$ftsc --help lists no verbs"; exit 1; }
for option in $(long_options); do
  checked=$((checked + 1))
  mentions "$text" "$option" || { echo "$page: does not mention ftsc's $option"; missing=1; }
done
for verb in $verbs; do
  body=$(section "$verb")
  checked=$((checked + 1))
  if [ -z "$body" ]; then
    echo "$page: no subsection 'ftsc $verb ...' under VERBS"
    missing=1
    continue
  fi
  for option in $(long_options "$verb"); do
    [ "$option" = --help ] && continue
    checked=$((checked + 1))
    mentions "$body" "$option" ||
      { echo "$page: 'ftsc $verb' does not mention its option $option"; missing=1; }
  done
  for sub in $(subcommands "$verb"); do
    checked=$((checked + 1))
    grep -Fq -- "ftsc $verb $sub" <<<"$body" ||
      { echo "$page: 'ftsc $verb' does not describe 'ftsc $verb $sub'"; missing=1; }
    for option in $(long_options "$verb" "$sub"); do
      [ "$option" = --help ] && continue
      checked=$((checked + 1))
      mentions "$body" "$option" ||
        { echo "$page: 'ftsc $verb' does not mention $option of 'ftsc $verb $sub'"; missing=1; }
    done
  done
done
[ "$missing" -eq 0 ] && echo "$page: every verb and long option of $ftsc ($checked) is in it"
exit "$missing"
