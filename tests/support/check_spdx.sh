#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Every source file of the repository names its licence in an
# SPDX-License-Identifier line within its first three lines, and the licence
# is its directory's (LICENSES/README.md): GPL-2.0-only for the kernel module,
# "GPL-2.0-only OR MIT" for the C the module and userspace share, Apache-2.0
# for the rest. Prints every file that does not and exits 1; 0 when all do.
# Usage: check_spdx.sh SOURCE_DIR
set -euo pipefail
cd "${1:?usage: check_spdx.sh SOURCE_DIR}"

expected() {
  case "$1" in
    kmod/*) echo "GPL-2.0-only" ;;
    src/abi/*.h | src/decide/decide.c | src/decide/decide.h | src/observe/bpf/* | \
      src/preload/preload_interface.h)
      echo "GPL-2.0-only OR MIT" ;;
    *) echo "Apache-2.0" ;;
  esac
}

mapfile -d '' files < <(find . \( -path ./.git -o -path './build*' -o -path ./tests/fuzz/corpus \
                   -o -path ./tests/policy/data \) -prune -o -type f \
              \( -name '*.c' -o -name '*.cc' -o -name '*.h' -o -name '*.sh' -o -name '*.cmake' \
                 -o -name '*.scd' -o -name CMakeLists.txt -o -name Kbuild -o -name Makefile \
                 -o -path './scripts/*' -o -path './completion/*' -o -path ./.ci/run \) -print0)
if [ "${#files[@]}" -eq 0 ]; then
  echo "no source files found under $PWD"
  exit 1
fi
# One pass: each file's licence from its first three lines ("-" when none).
declare -A licence
while IFS=$'\t' read -r f l; do
  licence["${f#./}"]="$l"
done < <(awk 'FNR == 1 { if (NR > 1 && !found) print prev "\t-"; found = 0; prev = FILENAME }
              FNR <= 3 && !found && match($0, /SPDX-License-Identifier: [^*]*/) {
                l = substr($0, RSTART + 25, RLENGTH - 25); sub(/[ \t]+$/, "", l)
                print FILENAME "\t" l; found = 1 }
              END { if (NR > 0 && !found) print prev "\t-" }' "${files[@]}")
bad=0
for f in "${files[@]}"; do
  f="${f#./}"
  want=$(expected "$f")
  got="${licence[$f]:--}"
  if [ "$got" = "-" ]; then
    echo "$f: no SPDX-License-Identifier line in its first three lines (want: $want)"
    bad=1
  elif [ "$got" != "$want" ]; then
    echo "$f: SPDX-License-Identifier: $got, but files here are $want"
    bad=1
  fi
done
[ "$bad" -eq 0 ] && echo "${#files[@]} files, each with its directory's SPDX line"
exit "$bad"
