# SPDX-License-Identifier: Apache-2.0
# Shared by the benchmark scripts (sourced): median of a results file whose
# lines are "KIND VARIANT VALUE".
# median FILE KIND VARIANT -> "median min max"
median() {
  awk -v k="$2" -v v="$3" '$1 == k && $2 == v { print $3 }' "$1" | sort -g |
    awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
           printf "%.1f %.1f %.1f", m, a[1], a[NR] }'
}
