// SPDX-License-Identifier: Apache-2.0
// The retry-matrix format of the paper (its tables: tests/policy/data/): tab-separated, the first
// header cell a label (ignored), then errno names; one row per syscall with
// cells y/j = retry, n = never, - = not applicable, ? = undecided. A text may
// hold several tables (a paper does); each is a run of consecutive lines that
// contain a tab, and every other line is ignored.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "policy/policy.h"

namespace ftsc::policy {

struct MatrixTable {
  base::SourceLoc where;      // the header line
  std::string label;          // the first header cell, as written
  std::vector<Named> errnos;  // column headers
  struct Row {
    Named syscall;
    std::vector<char> cells;  // one of y n - ? per column (j is read as y)
  };
  std::vector<Row> rows;
};

// Every table in `text`; errors (a ragged row, an unknown cell) name file:line.
base::Result<std::vector<MatrixTable>> parse_matrix_tables(std::string_view text,
                                                           std::string_view file);

// The policy one table describes: a rule per row (origin "matrix row").
// table is 1-based; 0 means "the only table" and is an error when there are several.
base::Result<PolicySpec> import_matrix(std::string_view text, std::string_view file, int table = 0);

// A table in the same format, with "Syscall \ Error" as its label.
std::string format_matrix(const MatrixTable& table);

}  // namespace ftsc::policy
