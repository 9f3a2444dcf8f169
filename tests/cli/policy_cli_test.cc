// SPDX-License-Identifier: Apache-2.0
// `ftsc policy ...` as a user runs it: a real process, real files, exit codes.
#include <sys/syscall.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "abi/compiled_policy.h"
#include "cli/run_ftsc.h"

namespace ftsc::test {
namespace {

const std::string kSource = FTSC_SOURCE_DIR;
const std::string kExample = kSource + "/examples/paper-race.toml";
// The paper's and the slides' retry matrices, as their text conversions write them.
const std::string kTables = kSource + "/tests/policy/data";

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

#define EXPECT_CONTAINS(hay, needle) EXPECT_TRUE(contains(hay, needle)) << "in:\n" << (hay)

TEST(PolicyCli, CheckCleanExampleExitsZero) {
  ProcessResult r = run_ftsc({"policy", "check", kExample});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_CONTAINS(r.out, "paper-race.toml: ok, 1 rule");
}

TEST(PolicyCli, CheckEveryShippedExample) {
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(kSource + "/examples")) {
    if (!entry.is_regular_file())
      continue;
    ++checked;
    ProcessResult r = run_ftsc({"policy", "check", entry.path().string()});
    EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.out << r.err;
  }
  EXPECT_GE(checked, 10);
}

TEST(PolicyCli, CheckReportsErrorsWithFileLineAndSuggestion) {
  TempDir dir;
  std::string file = dir.write("bad.toml",
                               "[[rule]]\n"
                               "syscalls = [\"opnat\"]\n"
                               "retry = [\"ENOENT\", \"EFAULT\"]\n"
                               "\n"
                               "[[rule]]\n"
                               "syscalls = [\"write\"]\n"
                               "retry = [\"ENOSPCE\"]\n");
  ProcessResult r = run_ftsc({"policy", "check", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.out, file + ":2: error: unknown syscall 'opnat' (did you mean openat?)");
  EXPECT_CONTAINS(r.out, file + ":3: error: EFAULT is never retried");
  EXPECT_CONTAINS(r.out, file + ":7: error: unknown errno 'ENOSPCE' (did you mean ENOSPC?)");
  EXPECT_CONTAINS(r.out, "bad.toml: 3 errors");
}

TEST(PolicyCli, CheckWarningsDoNotFail) {
  TempDir dir;
  std::string file = dir.write("warn.toml",
                               "[[rule]]\n"
                               "syscalls = [\"mmap\"]\n"
                               "retry = [\"ENOMEM\", \"EINTR\"]\n");
  ProcessResult r = run_ftsc({"policy", "check", file});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_CONTAINS(r.out, file + ":3: warning: mmap.2 does not document EINTR for mmap");
  EXPECT_CONTAINS(r.out, "warn.toml: ok, 1 rule, 2 cells, 2 warnings");
}

TEST(PolicyCli, CheckMalformedTomlIsOneClearLine) {
  TempDir dir;
  std::string file = dir.write("syntax.toml", "[[rule]\nsyscalls = 3\n");
  ProcessResult r = run_ftsc({"policy", "check", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.out, file + ":1");
  EXPECT_CONTAINS(r.out, "error");
}

TEST(PolicyCli, CheckMalformedDuration) {
  TempDir dir;
  std::string file = dir.write("dur.toml",
                               "[defaults]\n"
                               "backoff = [\"10ms\", \"5 parsecs\"]\n");
  ProcessResult r = run_ftsc({"policy", "check", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.out, file + ":2: error: 'backoff': malformed duration '5 parsecs'");
}

TEST(PolicyCli, ContradictoryRules) {
  ProcessResult r =
      run_ftsc({"policy", "check", "--retry", "write=ENOSPC", "--retry", "write,pwrite64=ENOSPC"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  TempDir dir;
  std::string file = dir.write("c.toml",
                               "[[rule]]\nsyscalls = \"write\"\nretry = [\"ENOSPC\"]\n"
                               "[[rule]]\nsyscalls = \"write\"\nnever = [\"ENOSPC\"]\n");
  r = run_ftsc({"policy", "check", file});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.out, "contradictory rules for write ENOSPC");
}

TEST(PolicyCli, MissingFileAndUsageErrors) {
  ProcessResult missing = run_ftsc({"policy", "check", "/nonexistent/policy.toml"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_CONTAINS(missing.err, "cannot read policy '/nonexistent/policy.toml'");
  ProcessResult dir = run_ftsc({"policy", "check", kSource + "/examples"});
  EXPECT_EQ(dir.exit_code, 1);
  EXPECT_CONTAINS(dir.err, "it is a directory");

  EXPECT_EQ(run_ftsc({}).exit_code, 2);
  EXPECT_EQ(run_ftsc({"nosuchverb"}).exit_code, 2);
  EXPECT_EQ(run_ftsc({"policy", "check", "--bogus"}).exit_code, 2);
  EXPECT_EQ(run_ftsc({"policy", "explain", kExample}).exit_code, 2);
  ProcessResult none = run_ftsc({"policy", "show"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_CONTAINS(none.err, "no policy given");
  EXPECT_EQ(run_ftsc({"--help"}).exit_code, 0);
  for (const char* n : {"0", "-1", "abc", "1x", "99999999999"}) {
    ProcessResult table = run_ftsc({"policy", "check", "--table", n, kExample});
    EXPECT_EQ(table.exit_code, 2) << n;
    EXPECT_CONTAINS(table.err, "--table: '" + std::string(n) + "' is not a whole number from 1 up");
  }
}

TEST(PolicyCli, UnknownVerbsAreNamedWithTheVerbsThatExist) {
  ProcessResult top = run_ftsc({"polcy", "check"});
  EXPECT_EQ(top.exit_code, 2);
  EXPECT_CONTAINS(top.err, "ftsc: unknown verb 'polcy' (did you mean policy?)");
  ProcessResult sub = run_ftsc({"policy", "frobnicate", kExample});
  EXPECT_EQ(sub.exit_code, 2);
  EXPECT_CONTAINS(sub.err, "ftsc policy: unknown verb 'frobnicate' (one of: check, show,");
  ProcessResult kmod = run_ftsc({"kmod", "stat"});
  EXPECT_EQ(kmod.exit_code, 2);
  EXPECT_CONTAINS(kmod.err, "ftsc kmod: unknown verb 'stat' (did you mean stats?)");
}

TEST(PolicyCli, CommandLineRules) {
  ProcessResult ok =
      run_ftsc({"policy", "show", "--retry", "openat,open=ENOENT", "--backoff", "5ms,20ms"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_CONTAINS(ok.out, "openat   retry");
  EXPECT_CONTAINS(ok.out, "5ms, 20ms (2 retries, 25ms of waiting at most)");

  ProcessResult bad = run_ftsc({"policy", "check", "--retry", "openat"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_CONTAINS(bad.out, "--retry");

  ProcessResult badb =
      run_ftsc({"policy", "check", "--retry", "openat=ENOENT", "--backoff", "10ms,fast"});
  EXPECT_EQ(badb.exit_code, 1);
  EXPECT_CONTAINS(badb.out, "--backoff");

  ProcessResult badi = run_ftsc({"policy", "check", "--inject", "openat:error=ENOENT:when=0"});
  EXPECT_EQ(badi.exit_code, 1);
  EXPECT_CONTAINS(badi.out, "--inject");

  ProcessResult combined = run_ftsc({"policy", "show", kExample, "--retry", "connect=ECONNREFUSED",
                                     "--inject", "openat:error=ENOENT:when=1..2"});
  EXPECT_EQ(combined.exit_code, 0) << combined.err;
  EXPECT_CONTAINS(combined.out, "connect");
  EXPECT_CONTAINS(combined.out, "mmap");
  EXPECT_CONTAINS(combined.out, "openat:error=ENOENT:when=1..2");
}

TEST(PolicyCli, ShowPrintsEffectiveMatrix) {
  ProcessResult r = run_ftsc({"policy", "show", kExample});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "mode enforce");
  EXPECT_CONTAINS(r.out, "mmap");
  EXPECT_CONTAINS(r.out, "ENOMEM");
  EXPECT_CONTAINS(r.out, "10ms, 50ms, 100ms");
}

TEST(PolicyCli, ShowRefusesPolicyWithErrors) {
  ProcessResult r = run_ftsc({"policy", "show", "--retry", "read=EBADF"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_CONTAINS(r.err, "EBADF is never retried");
  EXPECT_CONTAINS(r.err, "ftsc: the policy has 1 error");
}

TEST(PolicyCli, Explain) {
  ProcessResult r = run_ftsc({"policy", "explain", kExample, "mmap", "ENOMEM"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "mmap ENOMEM: retried");
  EXPECT_CONTAINS(r.out, "paper-race.toml:");
  EXPECT_CONTAINS(r.out, "10ms, 50ms, 100ms");

  ProcessResult by_number = run_ftsc({"policy", "explain", kExample, "9", "12"});
  EXPECT_EQ(by_number.out, r.out);

  ProcessResult close_r = run_ftsc({"policy", "explain", kExample, "close", "EIO"});
  EXPECT_CONTAINS(close_r.out, "close EIO: never retried");

  ProcessResult typo = run_ftsc({"policy", "explain", kExample, "mmapp", "ENOMEM"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_CONTAINS(typo.err, "unknown syscall 'mmapp' (did you mean mmap?)");
  ProcessResult etypo = run_ftsc({"policy", "explain", kExample, "mmap", "ENOMME"});
  EXPECT_EQ(etypo.exit_code, 1);
  EXPECT_CONTAINS(etypo.err, "did you mean ENOMEM?");
}

TEST(PolicyCli, ImportsEveryTableOfThePaperAndTheSlides) {
  struct Seed {
    std::string file;
    int tables;
  };
  for (const Seed& s : {Seed{"paper_tables.txt", 2}, Seed{"slides_tables.txt", 2}}) {
    std::string path = kTables + "/" + s.file;
    ProcessResult ambiguous = run_ftsc({"policy", "import", path});
    EXPECT_EQ(ambiguous.exit_code, 1) << s.file;
    EXPECT_CONTAINS(ambiguous.err, "--table");
    for (int t = 1; t <= s.tables; ++t) {
      TempDir dir;
      std::string out = dir.path() + "/imported.toml";
      ProcessResult r =
          run_ftsc({"policy", "import", path, "--table", std::to_string(t), "-o", out});
      ASSERT_EQ(r.exit_code, 0) << s.file << " table " << t << ": " << r.err;
      ProcessResult check = run_ftsc({"policy", "check", out});
      EXPECT_EQ(check.exit_code, 0) << check.out;
      // The TOML says what the table said: export it again and compare cells.
      ProcessResult direct = run_ftsc({"policy", "export", path, "--table", std::to_string(t)});
      ProcessResult via_toml = run_ftsc({"policy", "export", out});
      ASSERT_EQ(direct.exit_code, 0) << direct.err;
      ASSERT_EQ(via_toml.exit_code, 0) << via_toml.err;
      auto cells = [](const std::string& text) {
        return text.substr(text.find("Syscall \\ Error"));
      };
      EXPECT_EQ(cells(direct.out), cells(via_toml.out)) << s.file << " table " << t;
    }
  }
  ProcessResult table3 =
      run_ftsc({"policy", "import", kTables + "/paper_tables.txt", "--table", "3"});
  EXPECT_EQ(table3.exit_code, 1);
}

TEST(PolicyCli, PaperTableOneFindings) {
  ProcessResult r = run_ftsc({"policy", "check", kTables + "/paper_tables.txt", "--table", "1"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  // The paper retries EINTR for mmap, which mmap(2) does not document.
  EXPECT_CONTAINS(r.out, "paper_tables.txt:8: warning: mmap.2 does not document EINTR");
  ProcessResult slides =
      run_ftsc({"policy", "check", kTables + "/slides_tables.txt", "--table", "2"});
  EXPECT_EQ(slides.exit_code, 0) << slides.out;
  EXPECT_CONTAINS(slides.out, "slides_tables.txt:12: warning: EINTR is undecided");
}

TEST(PolicyCli, ExportWritesTheMatrixFormat) {
  ProcessResult r = run_ftsc({"policy", "export", "--retry", "write=ENOSPC,EPIPE"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_CONTAINS(r.out, "Syscall \\ Error\tENOSPC\tEPIPE\nwrite\ty\ty\n");
  // A policy without cells has no matrix to write (it could not be read back).
  TempDir dir;
  ProcessResult empty =
      run_ftsc({"policy", "export", dir.write("empty.toml", "mode = \"observe\"\n")});
  EXPECT_EQ(empty.exit_code, 1);
  EXPECT_EQ(empty.out, "");
  EXPECT_CONTAINS(empty.err, "decides no (syscall, errno) cell");
}

TEST(PolicyCli, UnnamedErrnoNumbersAndOverlongDelaysAreFileLineErrors) {
  TempDir dir;
  const std::string delays = dir.write("delays.toml",
                                       "[defaults]\n"
                                       "backoff = [\"10ms\", \"2562047h\"]\n");
  const std::string errnos = dir.write("errnos.toml",
                                       "[[rule]]\n"
                                       "syscalls = [\"read\"]\n"
                                       "retry = [\"300\"]\n");
  const std::string bin = dir.path() + "/p.bin";
  for (const auto& [file, finding] :
       {std::pair{delays, delays + ":2: error: 'backoff' is '2562047h', longer than 24h"},
        std::pair{errnos, errnos + ":3: error: unknown errno '300'"}}) {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"policy", "check", file},
                                                 {"policy", "show", file},
                                                 {"policy", "compile", file, "-o", bin},
                                                 {"run", "--policy", file, "--", "true"}}) {
      ProcessResult r = run_ftsc(args);
      EXPECT_EQ(r.exit_code, 1) << args[1] << " " << file;
      EXPECT_CONTAINS(r.out + r.err, finding);
    }
  }
}

TEST(PolicyCli, CompiledPolicyIsReadableFromC) {
  TempDir dir;
  std::string blob = dir.path() + "/policy.bin";
  ProcessResult c = run_ftsc(
      {"policy", "compile", kExample, "-o", blob, "--inject", "openat:error=ENOENT:when=2"});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(std::filesystem::file_size(blob), sizeof(ftsc_policy));

  ProcessResult mmap_r = run_process(
      {FTSC_READ_POLICY_BINARY, blob, std::to_string(SYS_mmap), std::to_string(ENOMEM)});
  EXPECT_EQ(mmap_r.exit_code, 0) << mmap_r.out;
  EXPECT_CONTAINS(mmap_r.out,
                  "valid\ndecision 1 schedule 0 delays 3: 10000000 50000000 100000000\n");
  ProcessResult never_r = run_process(
      {FTSC_READ_POLICY_BINARY, blob, std::to_string(SYS_mmap), std::to_string(EINVAL)});
  EXPECT_CONTAINS(never_r.out, "decision 2");
  ProcessResult inj1 = run_process(
      {FTSC_READ_POLICY_BINARY, blob, std::to_string(SYS_openat), std::to_string(ENOENT), "1"});
  EXPECT_CONTAINS(inj1.out, "inject 0\n");
  ProcessResult inj2 = run_process(
      {FTSC_READ_POLICY_BINARY, blob, std::to_string(SYS_openat), std::to_string(ENOENT), "2"});
  EXPECT_CONTAINS(inj2.out, "inject 2\n");

  // A damaged block is rejected by the C validator.
  {
    std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f.put('X');
  }
  ProcessResult bad = run_process({FTSC_READ_POLICY_BINARY, blob, "9", "12"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_CONTAINS(bad.out, "invalid: not a compiled ftsc policy");

  ProcessResult to_stdout = run_ftsc({"policy", "compile", kExample, "-o", "-"});
  EXPECT_EQ(to_stdout.exit_code, 2);
}

TEST(PolicyCli, GroupsAndSyscalls) {
  ProcessResult g = run_ftsc({"policy", "groups"});
  EXPECT_EQ(g.exit_code, 0);
  EXPECT_CONTAINS(g.out, "%file");
  EXPECT_CONTAINS(g.out, "%network");
  ProcessResult net = run_ftsc({"policy", "groups", "%network"});
  EXPECT_CONTAINS(net.out, "connect\n");
  ProcessResult typo = run_ftsc({"policy", "groups", "%netwrk"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_CONTAINS(typo.err, "did you mean %network?");
  ProcessResult unknown = run_ftsc({"policy", "groups", "%nothing"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_CONTAINS(unknown.err, "known groups: %");
  ProcessResult s = run_ftsc({"policy", "syscalls"});
  EXPECT_EQ(s.exit_code, 0);
  EXPECT_CONTAINS(s.out, "write");
  EXPECT_CONTAINS(s.out, "ENOSPC");
}

}  // namespace
}  // namespace ftsc::test
