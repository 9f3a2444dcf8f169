// SPDX-License-Identifier: Apache-2.0
// ftsc-kbgen, run as a real process: the checked-in data/man_errnos.tsv is what
// the generator makes of the installed man pages, and the generator's rules
// (redirects, NAME sections, ERRORS parsing, errors) hold on a small man
// directory written here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/run_process.h"

namespace {

namespace fs = std::filesystem;

const std::string kManDir = "/usr/share/man/man2";

using ftsc::test::ProcessResult;
using ftsc::test::run_process;

std::string read_file(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
  ASSERT_TRUE(f.good()) << path;
}

// "6.03" from the table's second header line.
std::string version_of(const std::string& table) {
  const std::string from = "from man-pages ";
  size_t at = table.find(from);
  if (at == std::string::npos)
    return {};
  at += from.size();
  return table.substr(at, table.find(' ', at) - at);
}

// The row of `syscall`, without its trailing newline, or "".
std::string row(const std::string& table, const std::string& syscall) {
  std::istringstream in(table);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(syscall + "\t", 0) == 0)
      return line;
  }
  return {};
}

// "line N: checked in '...', generated '...'" for the first line that differs.
std::string first_difference(const std::string& checked_in, const std::string& generated) {
  std::istringstream a(checked_in);
  std::istringstream b(generated);
  std::string la;
  std::string lb;
  for (int n = 1;; ++n) {
    bool more_a = static_cast<bool>(std::getline(a, la));
    bool more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b)
      return "no line differs";
    if (!more_a)
      la = "<end>";
    if (!more_b)
      lb = "<end>";
    if (la != lb) {
      return "line " + std::to_string(n) + ": checked in '" + la + "', generated '" + lb + "'";
    }
  }
}

// A scratch directory with a man2 directory of hand-written pages, gzip'd like Debian's.
class Kbgen : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ftsc-kbgen-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << std::strerror(errno);
    root_ = tmpl;
    man2_ = root_ / "man2";
    fs::create_directory(man2_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static bool have_gzip() { return run_process({"gzip", "--version"}).exit_code == 0; }

  // Writes man2/name and gzips it to man2/name.gz.
  void page(const std::string& name, const std::string& text) {
    write_file(man2_ / name, text);
    ProcessResult r = run_process({"gzip", "-n", "-f", (man2_ / name).string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  ProcessResult kbgen(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {FTSC_KBGEN_BINARY, "--man-dir", man2_.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_process(argv);
  }

  fs::path root_;
  fs::path man2_;
};

#define FTSC_REQUIRE_GZIP() \
  if (!have_gzip())         \
  GTEST_SKIP() << "the gzip command is not available to write test pages"

TEST_F(Kbgen, CheckedInTableMatchesGenerator) {
  if (!fs::is_directory(kManDir))
    GTEST_SKIP() << kManDir << " is missing (no man pages)";
  if (!fs::exists(kManDir + "/write.2.gz") && !fs::exists(kManDir + "/write.2")) {
    GTEST_SKIP() << "manpages-dev is not installed (" << kManDir << "/write.2.gz is missing)";
  }
  ProcessResult r = run_process({FTSC_KBGEN_BINARY});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string checked_in = read_file(fs::path(FTSC_SOURCE_DIR) / "data/man_errnos.tsv");
  if (version_of(r.out) != version_of(checked_in)) {
    GTEST_SKIP() << "the installed man pages are man-pages " << version_of(r.out)
                 << ", data/man_errnos.tsv was generated from man-pages " << version_of(checked_in)
                 << "; regenerate it if that is intended";
  }
  EXPECT_TRUE(r.out == checked_in)
      << "data/man_errnos.tsv is not what ftsc-kbgen generates ("
      << first_difference(checked_in, r.out)
      << "); run build/tools/kbgen/ftsc-kbgen -o data/man_errnos.tsv and review the diff";
}

const char kReadPage[] =
    ".\\\" A comment naming EPERM does not count.\n"
    ".TH read 2 2099-01-01 \"Linux man-pages 9.99\"\n"
    ".SH NAME\n"
    "read \\- read from a file descriptor\n"
    ".SH ERRORS\n"
    ".TP\n"
    ".B EAGAIN\n"
    "The file descriptor is nonblocking.\n"
    ".TP\n"
    ".BR EAGAIN \" or \" EWOULDBLOCK\n"
    ".\\\" Actually EAGAIN on Linux; ENOTTY in a comment does not count either.\n"
    "The socket is nonblocking.\n"
    ".TP\n"
    ".BR ENOBUFS \", \" ENOMEM\n"
    "Not enough memory.\n"
    ".IP \\fBEFBIG\\fP 4\n"
    "An .IP tag with inline font escapes.\n"
    ".SS Errors of special files\n"
    ".TP\n"
    ".B EIO\n"
    "In a sub-section of ERRORS.\n"
    ".PP\n"
    "The value\n"
    ".B ERESTARTSYS\n"
    "may be seen during a trace, and EXAMPLE is no errno.\n"
    ".SH NOTES\n"
    "EACCES named outside ERRORS does not count.\n";

TEST_F(Kbgen, GeneratesFromRedirectsNameSectionsAndReferences) {
  FTSC_REQUIRE_GZIP();
  page("read.2", kReadPage);
  // write.2 is an upstream-style .so stub.
  page("write.2", ".so man2/read.2\n");
  // No pread64.2: the NAME section of pread.2 lists it, and its ERRORS refer to read(2).
  page("pread.2",
       ".TH pread 2 2099-01-01 \"Linux man-pages 9.99\"\n"
       ".SH NAME\n"
       "pread, pwrite, pread64, pwrite64 \\- read from or write to a file descriptor\n"
       ".SH ERRORS\n"
       ".BR pread ()\n"
       "can fail and set\n"
       ".I errno\n"
       "to any error specified for\n"
       ".BR read (2).\n"
       "See\n"
       ".BR open (2)\n"
       "for further details on the O_NONBLOCK flag.\n"
       ".TP\n"
       ".B ESPIPE\n"
       "fd is a pipe.\n");
  // An uncompressed page is read too.
  write_file(man2_ / "close.2",
             ".TH close 2 2099-01-01 \"Linux man-pages 9.99\"\n.SH ERRORS\n.TP\n.B EBADF\nbad.\n");
  // open.2 is missing: its row says "-".

  ProcessResult r = kbgen();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(version_of(r.out), "9.99");
  EXPECT_EQ(r.out.rfind("# ftsc knowledge base: errnos each x86_64 syscall's man page", 0), 0u);
  // Sorted by value (EIO 5, EAGAIN 11, ENOMEM 12, EFBIG 27, ENOBUFS 105); EWOULDBLOCK is
  // EAGAIN; comments, ERESTARTSYS, EXAMPLE and the NOTES' EACCES are dropped.
  EXPECT_EQ(row(r.out, "read"), "read\t0\tread.2\tEIO EAGAIN ENOMEM EFBIG ENOBUFS");
  EXPECT_EQ(row(r.out, "write"), "write\t1\tread.2\tEIO EAGAIN ENOMEM EFBIG ENOBUFS");
  EXPECT_EQ(row(r.out, "pread64"), "pread64\t17\tpread.2\tEIO EAGAIN ENOMEM EFBIG ESPIPE ENOBUFS");
  EXPECT_EQ(row(r.out, "close"), "close\t3\tclose.2\tEBADF");
  EXPECT_EQ(row(r.out, "open"), "open\t2\t-\t");
  // Every libseccomp syscall has a row, in number order.
  std::istringstream in(r.out);
  std::string line;
  int rows = 0;
  long last = -1;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#')
      continue;
    ++rows;
    size_t t1 = line.find('\t');
    long nr = std::strtol(line.c_str() + t1 + 1, nullptr, 10);
    EXPECT_GT(nr, last) << line;
    last = nr;
  }
  EXPECT_GT(rows, 300);

  // -o writes the same table to a file.
  fs::path out = root_ / "out.tsv";
  ProcessResult to_file = kbgen({"-o", out.string()});
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(to_file.out, "");
  EXPECT_EQ(read_file(out), r.out);
  // Deterministic.
  EXPECT_EQ(kbgen().out, r.out);
}

TEST_F(Kbgen, FollowsSymbolicLinks) {
  FTSC_REQUIRE_GZIP();
  page("accept.2",
       ".TH accept 2 2099-01-01 \"Linux man-pages 9.99\"\n.SH NAME\naccept, accept4 \\- x\n"
       ".SH ERRORS\n.TP\n.B ECONNABORTED\nx\n");
  fs::create_symlink("accept.2.gz", man2_ / "accept4.2.gz");
  ProcessResult r = kbgen();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(row(r.out, "accept4"), "accept4\t288\taccept.2\tECONNABORTED");
}

TEST_F(Kbgen, FailsOnMissingDirectory) {
  ProcessResult r = run_process({FTSC_KBGEN_BINARY, "--man-dir", (root_ / "nothere").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("nothere"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(Kbgen, FailsOnBrokenRedirect) {
  FTSC_REQUIRE_GZIP();
  page("write.2", ".so man2/nothere.2\n");
  ProcessResult r = kbgen();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("redirects"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothere.2"), std::string::npos) << r.err;
}

TEST_F(Kbgen, FailsOnUnreadablePage) {
  FTSC_REQUIRE_GZIP();
  page("read.2", kReadPage);
  std::string gz = read_file(man2_ / "read.2.gz");
  write_file(man2_ / "read.2.gz", gz.substr(0, gz.size() / 2));  // a truncated gzip stream
  fs::path out = root_ / "out.tsv";
  ProcessResult r = kbgen({"-o", out.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("read.2.gz"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot read"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(out)) << "no half table on failure";
}

TEST_F(Kbgen, FailsOnDanglingLink) {
  fs::create_symlink("gone.2.gz", man2_ / "read.2.gz");
  ProcessResult r = kbgen();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("missing file"), std::string::npos) << r.err;
}

TEST_F(Kbgen, RejectsBadArguments) {
  ProcessResult r = run_process({FTSC_KBGEN_BINARY, "--frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("usage"), std::string::npos) << r.err;
  EXPECT_EQ(run_process({FTSC_KBGEN_BINARY, "-o"}).exit_code, 2);
}

}  // namespace
