// SPDX-License-Identifier: Apache-2.0
#include "policy/matrix.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace ftsc::policy {
namespace {

// The paper's and the slides' tables, as their text conversions write them.
const std::string kData = FTSC_SOURCE_DIR "/tests/policy/data/";

std::optional<std::string> read_data(const std::string& name) {
  std::ifstream in(kData + name, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> texts(const std::vector<Named>& names) {
  std::vector<std::string> out;
  for (const Named& n : names)
    out.push_back(n.text);
  return out;
}

// A row as "name:cells", e.g. "write:nyy---".
std::vector<std::string> rows(const MatrixTable& t) {
  std::vector<std::string> out;
  for (const MatrixTable::Row& r : t.rows)
    out.push_back(r.syscall.text + ":" + std::string(r.cells.begin(), r.cells.end()));
  return out;
}

using Strings = std::vector<std::string>;

void expect_error(std::string_view text, int line, std::string_view message,
                  std::string_view hint) {
  auto r = parse_matrix_tables(text, "m.txt");
  ASSERT_FALSE(r.ok()) << "accepted:\n" << text;
  EXPECT_EQ(r.error().where.file, "m.txt");
  EXPECT_EQ(r.error().where.line, line) << r.error().message;
  EXPECT_NE(r.error().message.find(message), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().hint.find(hint), std::string::npos) << r.error().hint;
}

TEST(Matrix, PaperTablesImportAsTheyStand) {
  auto text = read_data("paper_tables.txt");
  ASSERT_TRUE(text) << "cannot read the test data in " << kData;
  auto tables = parse_matrix_tables(*text, "paper.txt");
  ASSERT_TRUE(tables.ok()) << tables.error().where.str() << ": " << tables.error().message;
  ASSERT_EQ(tables->size(), 2u);

  const MatrixTable& t1 = (*tables)[0];
  EXPECT_EQ(t1.where.file, "paper.txt");
  EXPECT_EQ(t1.where.line, 5);
  EXPECT_EQ(t1.label, "<b>Error</b> <b>Syscall</b>");
  EXPECT_EQ(texts(t1.errnos), (Strings{"EINVAL", "ENOSPC", "EINTR", "ENOMEM", "ENOTTY", "ENOENT"}));
  // The paper writes j (ja); it reads as y.
  EXPECT_EQ(rows(t1),
            (Strings{"write:nyy---", "read:n-y---", "mmap:n-yy--", "ioctl:n---n-", "open:nyyy-y"}));
  EXPECT_EQ(t1.rows[0].syscall.where.line, 6);
  EXPECT_EQ(t1.rows[4].syscall.where.line, 10);

  const MatrixTable& t2 = (*tables)[1];
  EXPECT_EQ(t2.where.line, 14);
  EXPECT_EQ(t2.label, "<b>Syscall</b> \\ <b>Error</b>");
  EXPECT_EQ(texts(t2.errnos), (Strings{"EPIPE", "EINVAL", "EINTR", "ENOSPC"}));
  EXPECT_EQ(rows(t2), (Strings{"write:ynyy"}));
  EXPECT_EQ(t2.rows[0].syscall.where.line, 15);
}

TEST(Matrix, SlideTablesImportAsTheyStand) {
  auto text = read_data("slides_tables.txt");
  ASSERT_TRUE(text) << "cannot read the test data in " << kData;
  auto tables = parse_matrix_tables(*text, "slides.txt");
  ASSERT_TRUE(tables.ok()) << tables.error().where.str() << ": " << tables.error().message;
  ASSERT_EQ(tables->size(), 2u);

  const MatrixTable& t1 = (*tables)[0];
  EXPECT_EQ(t1.where.line, 4);
  EXPECT_EQ(t1.label, "Syscall \\ Error");
  EXPECT_EQ(texts(t1.errnos), (Strings{"EPIPE", "EINVAL", "EINTR", "ENOSPC"}));
  EXPECT_EQ(rows(t1), (Strings{"write:ynyy"}));

  const MatrixTable& t2 = (*tables)[1];
  EXPECT_EQ(t2.where.line, 9);
  EXPECT_EQ(texts(t2.errnos), (Strings{"EINVAL", "ENOSPC", "EINTR", "ENOMEM", "ENOTTY", "ENOENT"}));
  EXPECT_EQ(rows(t2),
            (Strings{"write:nyy---", "read:n-y---", "mmap:n-?y--", "ioctl:n---n-", "open:nyyy-y"}));
}

TEST(Matrix, ImportSlideTableTwoAsRules) {
  auto text = read_data("slides_tables.txt");
  ASSERT_TRUE(text) << "cannot read the test data in " << kData;
  auto spec = import_matrix(*text, "slides.txt", 2);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->source, "slides.txt");
  ASSERT_EQ(spec->rules.size(), 5u);
  const RuleSpec& mmap = spec->rules[2];
  EXPECT_EQ(texts(mmap.syscalls), (Strings{"mmap"}));
  EXPECT_EQ(texts(mmap.retry), (Strings{"ENOMEM"}));
  EXPECT_EQ(texts(mmap.never), (Strings{"EINVAL"}));
  EXPECT_EQ(texts(mmap.undecided), (Strings{"EINTR"}));
  EXPECT_EQ(texts(mmap.not_applicable), (Strings{"ENOSPC", "ENOTTY", "ENOENT"}));
  EXPECT_EQ(mmap.origin, "matrix row");
  EXPECT_EQ(mmap.where.file, "slides.txt");
  EXPECT_EQ(mmap.where.line, 12);
  EXPECT_EQ(mmap.syscalls[0].where.line, 12);
  for (const auto* list : {&mmap.retry, &mmap.never, &mmap.undecided, &mmap.not_applicable})
    for (const Named& n : *list)
      EXPECT_EQ(n.where.str(), "slides.txt:12") << n.text;
  EXPECT_FALSE(mmap.backoff.has_value());

  const RuleSpec& open = spec->rules[4];
  EXPECT_EQ(texts(open.syscalls), (Strings{"open"}));
  EXPECT_EQ(texts(open.retry), (Strings{"ENOSPC", "EINTR", "ENOMEM", "ENOENT"}));
  EXPECT_EQ(texts(open.never), (Strings{"EINVAL"}));
  EXPECT_EQ(texts(open.not_applicable), (Strings{"ENOTTY"}));
  EXPECT_EQ(open.where.line, 14);

  auto first = import_matrix(*text, "slides.txt", 1);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->rules.size(), 1u);
  EXPECT_EQ(texts(first->rules[0].syscalls), (Strings{"write"}));
  EXPECT_EQ(texts(first->rules[0].retry), (Strings{"EPIPE", "EINTR", "ENOSPC"}));
  EXPECT_EQ(texts(first->rules[0].never), (Strings{"EINVAL"}));
  EXPECT_EQ(first->rules[0].where.line, 5);
}

TEST(Matrix, ImportPaperTablesAsRules) {
  auto text = read_data("paper_tables.txt");
  ASSERT_TRUE(text) << "cannot read the test data in " << kData;
  auto t1 = import_matrix(*text, "paper.txt", 1);
  ASSERT_TRUE(t1.ok()) << t1.error().message;
  ASSERT_EQ(t1->rules.size(), 5u);
  EXPECT_EQ(texts(t1->rules[1].syscalls), (Strings{"read"}));
  EXPECT_EQ(texts(t1->rules[1].retry), (Strings{"EINTR"}));
  EXPECT_EQ(texts(t1->rules[1].never), (Strings{"EINVAL"}));
  EXPECT_EQ(texts(t1->rules[1].not_applicable), (Strings{"ENOSPC", "ENOMEM", "ENOTTY", "ENOENT"}));
  EXPECT_EQ(t1->rules[1].where.line, 7);
  EXPECT_EQ(texts(t1->rules[3].never), (Strings{"EINVAL", "ENOTTY"}));
  EXPECT_TRUE(t1->rules[3].retry.empty());

  auto t2 = import_matrix(*text, "paper.txt", 2);
  ASSERT_TRUE(t2.ok()) << t2.error().message;
  ASSERT_EQ(t2->rules.size(), 1u);
  EXPECT_EQ(texts(t2->rules[0].retry), (Strings{"EPIPE", "EINTR", "ENOSPC"}));
  EXPECT_EQ(t2->rules[0].where.line, 15);
}

TEST(Matrix, SeveralTablesNeedAChoice) {
  auto text = read_data("paper_tables.txt");
  ASSERT_TRUE(text) << "cannot read the test data in " << kData;
  auto r = import_matrix(*text, "paper.txt");
  ASSERT_FALSE(r.ok());
  const base::Error& e = r.error();
  EXPECT_EQ(e.where.file, "paper.txt");
  EXPECT_NE(e.message.find("paper.txt holds 2 retry matrices"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("table 1 at line 5 (5 rows: write, read, mmap, ioctl, ...,"),
            std::string::npos)
      << e.message;
  EXPECT_NE(e.message.find("table 2 at line 14 (1 row: write, 4 errnos)"), std::string::npos)
      << e.message;
  EXPECT_NE(e.hint.find("--table N"), std::string::npos) << e.hint;
}

TEST(Matrix, SingleTableNeedsNoChoice) {
  std::string text =
      "Some notes.\n"
      "Syscall \\ Error\tEAGAIN\tENOMEM\n"
      "fork\ty\tY\n"
      "mmap\tn\tj\n"
      "The end.\n";
  auto spec = import_matrix(text, "m.txt");
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  ASSERT_EQ(spec->rules.size(), 2u);
  EXPECT_EQ(texts(spec->rules[0].retry), (Strings{"EAGAIN", "ENOMEM"}));
  EXPECT_EQ(texts(spec->rules[1].never), (Strings{"EAGAIN"}));
  EXPECT_EQ(texts(spec->rules[1].retry), (Strings{"ENOMEM"}));
  EXPECT_EQ(spec->rules[0].where.str(), "m.txt:3");
  // table 1 is the same as "the only table".
  auto one = import_matrix(text, "m.txt", 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->rules.size(), 2u);
}

TEST(Matrix, CellsAreCaseInsensitiveAndTrimmed) {
  std::string text =
      "Syscall \\ Error\t EINTR \tENOMEM\tEINVAL\tENOSPC\tEIO\r\n"
      "  write \t Y \tJ\tN\t - \t?\r\n";
  auto t = parse_matrix_tables(text, "m.txt");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->size(), 1u);
  EXPECT_EQ(texts((*t)[0].errnos), (Strings{"EINTR", "ENOMEM", "EINVAL", "ENOSPC", "EIO"}));
  EXPECT_EQ(rows((*t)[0]), (Strings{"write:yyn-?"}));
  EXPECT_EQ((*t)[0].errnos[0].where.column, 17);
}

TEST(Matrix, TablesAreSeparatedByOtherLines) {
  std::string text =
      "L\tEINTR\n"
      "read\ty\n"
      "\n"
      "L\tEIO\tENOSPC\n"
      "write\tn\ty\n"
      "fsync\t-\t?\n";
  auto t = parse_matrix_tables(text, "m.txt");
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].where.line, 1);
  EXPECT_EQ(rows((*t)[0]), (Strings{"read:y"}));
  EXPECT_EQ((*t)[1].where.line, 4);
  EXPECT_EQ(rows((*t)[1]), (Strings{"write:ny", "fsync:-?"}));
}

TEST(Matrix, TextWithoutTablesHasNone) {
  auto t = parse_matrix_tables("just prose\nno tabs here\n", "m.txt");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->empty());
  auto spec = import_matrix("just prose\n", "m.txt");
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(spec.error().message.find("no retry matrix in m.txt"), std::string::npos)
      << spec.error().message;
  EXPECT_NE(spec.error().hint.find("separated by tabs"), std::string::npos) << spec.error().hint;
}

TEST(Matrix, FormatWritesTheSameFormat) {
  MatrixTable t;
  t.errnos = {Named{"EINTR", {}}, Named{"ENOMEM", {}}, Named{"EINVAL", {}}, Named{"EIO", {}}};
  t.rows.push_back({Named{"mmap", {}}, {'y', 'y', 'n', '?'}});
  t.rows.push_back({Named{"read", {}}, {'j', '-', 'n', 'y'}});
  EXPECT_EQ(format_matrix(t),
            "Syscall \\ Error\tEINTR\tENOMEM\tEINVAL\tEIO\n"
            "mmap\ty\ty\tn\t?\n"
            "read\ty\t-\tn\ty\n");
}

TEST(Matrix, FormatParseRoundTrip) {
  std::string text =
      "<b>Error</b> <b>Syscall</b>\tEINVAL\tENOSPC\tEINTR\tENOMEM\tENOTTY\tENOENT\n"
      "write\tn\tj\tj\t-\t-\t-\n"
      "mmap\tn\t-\t?\tj\t-\t-\n"
      "open\tN\tJ\tY\tj\t-\tj\n";
  auto first = parse_matrix_tables(text, "m.txt");
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 1u);
  std::string formatted = format_matrix((*first)[0]);
  auto second = parse_matrix_tables(formatted, "out.txt");
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].label, "Syscall \\ Error");
  EXPECT_EQ(texts((*second)[0].errnos), texts((*first)[0].errnos));
  EXPECT_EQ(rows((*second)[0]), rows((*first)[0]));
  EXPECT_EQ(format_matrix((*second)[0]), formatted);
}

TEST(Matrix, PaperAndSlideTablesRoundTrip) {
  for (const char* name : {"slides_tables.txt", "paper_tables.txt"}) {
    auto text = read_data(name);
    ASSERT_TRUE(text) << "cannot read the test data in " << kData;
    auto tables = parse_matrix_tables(*text, name);
    ASSERT_TRUE(tables.ok()) << tables.error().message;
    for (const MatrixTable& t : *tables) {
      auto again = parse_matrix_tables(format_matrix(t), "out.txt");
      ASSERT_TRUE(again.ok()) << again.error().message;
      ASSERT_EQ(again->size(), 1u);
      EXPECT_EQ(texts((*again)[0].errnos), texts(t.errnos));
      EXPECT_EQ(rows((*again)[0]), rows(t));
    }
  }
}

TEST(Matrix, RaggedRow) {
  expect_error("L\tEINTR\tEIO\nwrite\ty\tn\nread\ty\n", 3,
               "ragged matrix row 'read': 1 cells, but the header at line 1 names 2 errnos",
               "one cell");
  expect_error("L\tEINTR\nwrite\ty\tn\n", 2, "ragged matrix row 'write': 2 cells", "one cell");
}

TEST(Matrix, EmptyCell) {
  expect_error("L\tEINTR\tEIO\nwrite\ty\t \n", 2, "empty cell for write and EIO", "y (or j)");
  auto r = parse_matrix_tables("L\tEINTR\tEIO\nwrite\ty\t\n", "m.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where.column, 9);
}

TEST(Matrix, UnknownCell) {
  expect_error("L\tEINTR\tEIO\nwrite\ty\tmaybe\n", 2, "unknown cell 'maybe' for write and EIO",
               "y (or j) = retry, n = never, - = not applicable, ? = undecided");
  expect_error("L\tEINTR\nwrite\tx\n", 2, "unknown cell 'x'", "? = undecided");
  expect_error("L\tEINTR\nwrite\tyes\n", 2, "unknown cell 'yes'", "y (or j)");
}

TEST(Matrix, DuplicateColumn) {
  expect_error("L\tEINTR\tEIO\tEINTR\nwrite\ty\tn\ty\n", 1,
               "duplicate column 'EINTR' in the matrix header (first at column 3)",
               "merge the two columns");
}

TEST(Matrix, EmptyColumnHeader) {
  expect_error("prose\nL\tEINTR\t\nwrite\ty\tn\n", 2, "empty column header (column 3)",
               "trailing tab");
  expect_error("L\t\tEINTR\n", 1, "empty column header (column 2)", "doubled");
}

TEST(Matrix, UnknownErrnoIsReportedAtTheHeader) {
  auto r = import_matrix("intro\nL\tEINTR\tEIOX\nread\ty\tn\nwrite\ty\tn\n", "m.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where.str(), "m.txt:2");
  EXPECT_EQ(r.error().where.column, 9);
  EXPECT_NE(r.error().message.find("unknown errno 'EIOX' in the matrix header"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().hint.find("EIO"), std::string::npos) << r.error().hint;
}

TEST(Matrix, RowWithoutName) {
  expect_error("L\tEINTR\nwrite\ty\n\ty\n", 3, "matrix row without a syscall name",
               "first cell of each row names the syscall");
  expect_error("L\tEINTR\n  \ty\n", 2, "without a syscall name", "names the syscall");
}

TEST(Matrix, HeaderWithoutRows) {
  auto r = import_matrix("intro\nL\tEINTR\n", "m.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where.str(), "m.txt:2");
  EXPECT_NE(r.error().message.find("no rows"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().hint.find("one line per syscall"), std::string::npos) << r.error().hint;
}

TEST(Matrix, TableNumberOutOfRange) {
  std::string text = "L\tEINTR\nread\ty\n\nL\tEIO\nwrite\tn\n";
  auto r = import_matrix(text, "m.txt", 3);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("m.txt has no table 3: it holds table 1 at line 1"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("table 2 at line 4 (1 row: write, 1 errno)"), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().hint.find("from 1 to 2"), std::string::npos) << r.error().hint;

  auto neg = import_matrix(text, "m.txt", -1);
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.error().message.find("invalid table number -1"), std::string::npos);
  EXPECT_NE(neg.error().hint.find("numbered from 1"), std::string::npos) << neg.error().hint;

  auto both = import_matrix(text, "m.txt");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find("m.txt holds 2 retry matrices: table 1 at line 1"),
            std::string::npos)
      << both.error().message;
  EXPECT_NE(both.error().hint.find("choose one with --table N, N from 1 to 2"), std::string::npos);

  auto second = import_matrix(text, "m.txt", 2);
  ASSERT_TRUE(second.ok()) << second.error().message;
  ASSERT_EQ(second->rules.size(), 1u);
  EXPECT_EQ(texts(second->rules[0].never), (Strings{"EIO"}));
  EXPECT_EQ(second->rules[0].where.line, 5);
}

TEST(Matrix, ErrorsStopAtTheFirstBadTable) {
  // A later table's error is reported even when an earlier one is fine.
  expect_error("L\tEINTR\nread\ty\n\nL\tEIO\nwrite\tz\n", 5, "unknown cell 'z'", "y (or j)");
}

TEST(Matrix, ControlBytesInNamesAreShownSafely) {
  std::string text = std::string("L\tEINTR\nwr\x01te\tq\n");
  auto r = parse_matrix_tables(text, "m.txt");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("for wr?te and EINTR"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace ftsc::policy
