// SPDX-License-Identifier: Apache-2.0
// The paper's retry matrix as a file format. A table is found, not declared:
// every run of consecutive lines that contain a tab is one, so a matrix pasted
// into notes or a paper converted to text (tests/policy/data/) imports as it
// stand. Cells are single letters; anything else is an error at its line and
// column rather than a guess, because a misread cell silently changes which
// failures a program survives.
#include "policy/matrix.h"
#include "base/text.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "policy/effective_policy.h"

namespace ftsc::policy {
namespace {

constexpr std::string_view kCellHint =
    "write y (or j) = retry, n = never, - = not applicable, ? = undecided";
constexpr std::string_view kFormatHint =
    "a matrix is a header line (a label, then errno names) and one line per syscall (its name, "
    "then one cell per errno: y/j, n, - or ?), cells separated by tabs";

struct Cell {
  std::string_view text;  // as written, untrimmed
  size_t column;          // 0-based byte offset in the line
};

std::vector<Cell> split_tabs(std::string_view line) {
  std::vector<Cell> out;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    if (tab == std::string_view::npos) {
      out.push_back({line.substr(start), start});
      return out;
    }
    out.push_back({line.substr(start, tab - start), start});
    start = tab + 1;
  }
}

// One of y n - ?, or 0 when the cell is none of them.
char cell_value(std::string_view cell) {
  if (cell.size() != 1)
    return 0;
  switch (std::tolower(static_cast<unsigned char>(cell[0]))) {
    case 'y':
    case 'j':
      return 'y';
    case 'n':
      return 'n';
    case '-':
      return '-';
    case '?':
      return '?';
    default:
      return 0;
  }
}

class TableParser {
 public:
  explicit TableParser(std::string_view file) : file_(file) {}

  base::SourceLoc loc(int line, size_t column) const {
    return base::SourceLoc{file_, line, static_cast<int>(column) + 1};
  }

  base::Result<void> header(std::string_view line, int line_no, MatrixTable& t) {
    std::vector<Cell> cells = split_tabs(line);
    t.where = loc(line_no, 0);
    t.label = std::string(base::trim(cells[0].text, " \r\v\f"));
    for (size_t i = 1; i < cells.size(); ++i) {
      std::string_view name = base::trim(cells[i].text, " \r\v\f");
      if (name.empty())
        return base::Error{
            fmt::format("empty column header (column {}) in the matrix header", i + 1),
            loc(line_no, cells[i].column),
            "every column after the label needs an errno name; remove a doubled or "
            "trailing tab"};
      for (const Named& prior : t.errnos) {
        if (prior.text == name)
          return base::Error{
              fmt::format("duplicate column '{}' in the matrix header (first at column {})",
                          base::shown(name), prior.where.column),
              loc(line_no, cells[i].column),
              "each errno may head one column; merge the two columns"};
      }
      t.errnos.push_back(Named{std::string(name), loc(line_no, cells[i].column)});
    }
    return {};
  }

  base::Result<void> row(std::string_view line, int line_no, MatrixTable& t) {
    std::vector<Cell> cells = split_tabs(line);
    std::string_view name = base::trim(cells[0].text, " \r\v\f");
    if (name.empty())
      return base::Error{"matrix row without a syscall name", loc(line_no, 0),
                         "the first cell of each row names the syscall, e.g. write<TAB>n<TAB>y"};
    if (cells.size() - 1 != t.errnos.size())
      return base::Error{
          fmt::format("ragged matrix row '{}': {} cells, but the header at line {} names "
                      "{} errnos",
                      base::shown(name), cells.size() - 1, t.where.line, t.errnos.size()),
          loc(line_no, 0),
          "give exactly one cell (y, n, - or ?) per errno column, separated by single "
          "tabs"};
    MatrixTable::Row r;
    r.syscall = Named{std::string(name), loc(line_no, cells[0].column)};
    for (size_t i = 1; i < cells.size(); ++i) {
      std::string_view text = base::trim(cells[i].text, " \r\v\f");
      char v = cell_value(text);
      if (v == 0) {
        std::string what = text.empty() ? std::string("empty cell")
                                        : fmt::format("unknown cell '{}'", base::shown(text));
        return base::Error{fmt::format("{} for {} and {}", what, base::shown(name),
                                       base::shown(t.errnos[i - 1].text)),
                           loc(line_no, cells[i].column), std::string(kCellHint)};
      }
      r.cells.push_back(v);
    }
    t.rows.push_back(std::move(r));
    return {};
  }

 private:
  std::string file_;
};

std::string describe(const MatrixTable& t, size_t number) {
  std::vector<std::string_view> names;
  for (size_t i = 0; i < t.rows.size() && i < 4; ++i)
    names.push_back(t.rows[i].syscall.text);
  std::string rows = fmt::format("{}", fmt::join(names, ", "));
  if (t.rows.size() > 4)
    rows += ", ...";
  return fmt::format("table {} at line {} ({} row{}{}{}, {} errno{})", number, t.where.line,
                     t.rows.size(), t.rows.size() == 1 ? "" : "s", t.rows.empty() ? "" : ": ",
                     base::shown(rows), t.errnos.size(), t.errnos.size() == 1 ? "" : "s");
}

std::string list_tables(const std::vector<MatrixTable>& tables) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < tables.size(); ++i)
    parts.push_back(describe(tables[i], i + 1));
  return fmt::format("{}", fmt::join(parts, "; "));
}

}  // namespace

base::Result<std::vector<MatrixTable>> parse_matrix_tables(std::string_view text,
                                                           std::string_view file) {
  TableParser parser(file);
  std::vector<MatrixTable> tables;
  bool in_table = false;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.find('\t') == std::string_view::npos) {
      in_table = false;
      continue;
    }
    if (!in_table) {
      tables.emplace_back();
      in_table = true;
      if (auto r = parser.header(line, line_no, tables.back()); !r)
        return r.error();
    } else {
      if (auto r = parser.row(line, line_no, tables.back()); !r)
        return r.error();
    }
  }
  return tables;
}

base::Result<PolicySpec> import_matrix(std::string_view text, std::string_view file, int table) {
  auto tables_or = parse_matrix_tables(text, file);
  if (!tables_or)
    return tables_or.error();
  const std::vector<MatrixTable>& tables = *tables_or;
  base::SourceLoc where{std::string(file), 0, 0};
  if (tables.empty())
    return base::Error{fmt::format("no retry matrix in {}: no line contains a tab", file), where,
                       std::string(kFormatHint)};
  if (table < 0)
    return base::Error{
        fmt::format("invalid table number {}", table), where,
        fmt::format("tables are numbered from 1; {} holds {}", file, list_tables(tables))};
  if (table == 0 && tables.size() > 1)
    return base::Error{
        fmt::format("{} holds {} retry matrices: {}", file, tables.size(), list_tables(tables)),
        where, fmt::format("choose one with --table N, N from 1 to {}", tables.size())};
  if (static_cast<size_t>(table) > tables.size())
    return base::Error{
        fmt::format("{} has no table {}: it holds {}", file, table, list_tables(tables)), where,
        fmt::format("choose a table from 1 to {}", tables.size())};
  const MatrixTable& t = tables[table == 0 ? 0 : static_cast<size_t>(table) - 1];
  if (t.rows.empty())
    return base::Error{
        "the matrix has a header but no rows", t.where,
        "add one line per syscall below the header: its name, then one cell per errno"};
  // A column's errno is checked here, at the header, rather than at every row that uses it.
  for (const Named& e : t.errnos) {
    if (!resolve_errno_token(e.text))
      return base::Error{
          fmt::format("unknown errno '{}' in the matrix header", base::shown(e.text)), e.where,
          errno_hint(e.text)};
  }

  PolicySpec spec;
  spec.source = std::string(file);
  for (const MatrixTable::Row& row : t.rows) {
    RuleSpec rule;
    rule.syscalls.push_back(row.syscall);
    rule.where = base::SourceLoc{row.syscall.where.file, row.syscall.where.line, 0};
    rule.origin = "matrix row";
    for (size_t i = 0; i < row.cells.size() && i < t.errnos.size(); ++i) {
      Named n{t.errnos[i].text, base::SourceLoc{rule.where.file, rule.where.line, 0}};
      switch (row.cells[i]) {
        case 'y':
          rule.retry.push_back(std::move(n));
          break;
        case 'n':
          rule.never.push_back(std::move(n));
          break;
        case '?':
          rule.undecided.push_back(std::move(n));
          break;
        default:
          rule.not_applicable.push_back(std::move(n));
          break;
      }
    }
    spec.rules.push_back(std::move(rule));
  }
  return spec;
}

std::string format_matrix(const MatrixTable& table) {
  std::string out = "Syscall \\ Error";
  for (const Named& e : table.errnos)
    out += "\t" + e.text;
  out += '\n';
  for (const MatrixTable::Row& row : table.rows) {
    out += row.syscall.text;
    for (char c : row.cells) {
      out += '\t';
      out += c == 'j' ? 'y' : c;
    }
    out += '\n';
  }
  return out;
}

}  // namespace ftsc::policy
