// The auto engine (the default): the preload library handles calls through
// libc's functions in-process, the ptrace supervisor every other call the
// policy names, and each call is handled by exactly one of them. -v names the
// layer at the end of each line: "(preload)" or "(ptrace)".
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

// The lines of text that contain every one of `parts`.
size_t count_lines(const std::string& text, const std::vector<std::string>& parts) {
  size_t n = 0, start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    std::string line = text.substr(start, end == std::string::npos ? end : end - start);
    bool all = true;
    for (const std::string& p : parts)
      all = all && contains(line, p);
    n += all ? 1 : 0;
    if (end == std::string::npos)
      break;
    start = end + 1;
  }
  return n;
}

TEST(Auto, IsTheDefaultEngine) {
  ProcessResult r = run_ftsc({"run", "-v", "--", "true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "under the ptrace supervisor")) << r.err;
}

TEST(Auto, EachCallIsHandledByExactlyOneLayer) {
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r =
      run_ftsc({"run", "-v", "--retry", "openat=ENOENT", "--backoff", "1ms,1ms", "--stats", stats,
                "--", prog("three_opens"), dir.path() + "/missing"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "open: No such file or directory\nfopen: No such file or directory\n"
            "raw: No such file or directory\npage: 6ff00000-6ff01000 r-xp\n");
  // open() in-process; fopen's openat and the raw instruction by the
  // supervisor. Each call: two retries, then the schedule is exhausted. A
  // call seen by both layers would show more attempts.
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, retry", "(preload)"}), 2u) << r.err;
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, schedule_exhausted", "(preload)"}), 1u) << r.err;
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, retry", "(ptrace)"}), 4u) << r.err;
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, schedule_exhausted", "(ptrace)"}), 2u) << r.err;
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "calls"), 3u) << row;
  EXPECT_EQ(counter(row, "attempts"), 9u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 3u) << row;
}

TEST(Auto, WithoutThePageTheSupervisorHandlesEverything) {
  ProcessResult r = run_ftsc(
      {"run", "-v", "--retry", "openat=ENOENT", "--backoff", "1ms", "--", prog("page_taken")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "open: No such file or directory\n");
  EXPECT_TRUE(contains(r.err,
                       "the syscall page at 0x6ff00000: the address is taken by another mapping; "
                       "the library stays inactive and the supervisor handles every call"))
      << r.err;
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, retry 1/1", "(ptrace)"}), 1u) << r.err;
  EXPECT_EQ(count_lines(r.err, {"(preload)"}), 0u) << r.err;
}

TEST(Auto, InjectionsAreTheSupervisorsSoAttemptsAreCountedOnce) {
  // Injections are left to the supervisor, which counts every attempt of the
  // process: the first two attempts of openat (the dynamic loader's) fail and
  // are retried. Had the library counted the attempts it sees as well, the
  // program's open() would be its first attempt and be injected too.
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  std::string file = dir.write("present", "x");
  ProcessResult r = run_ftsc({"run", "--retry", "openat=ENOENT", "--backoff", "1ms,1ms,1ms",
                              "--inject", "openat:error=ENOENT:when=1..2", "--stats", stats, "--",
                              prog("three_opens"), file});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "open: ok\nfopen: ok\nraw: ok\n")) << r.out;
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "injected"), 2u) << row;
  EXPECT_EQ(counter(row, "recovered"), 1u) << row;
}

TEST(Auto, StaticProgramsRunUnderThePtraceEngineAlone) {
  ProcessResult r =
      run_ftsc({"run", "-v", "--retry", "getppid=EAGAIN", "--", prog("static_getppid")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "getppid: ok\n");
  EXPECT_TRUE(contains(r.err, "is statically linked")) << r.err;
  EXPECT_TRUE(contains(r.err, "the ptrace engine handles it alone")) << r.err;
}

TEST(Auto, PreloadAloneMapsNoPage) {
  ProcessResult r = run_ftsc(
      {"run", "--engine", "preload", "--retry", "openat=EACCES", "--", prog("three_opens")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(contains(r.out, "page:")) << r.out;
}

}  // namespace
}  // namespace ftsc::test
