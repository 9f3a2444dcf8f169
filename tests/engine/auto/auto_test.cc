// SPDX-License-Identifier: Apache-2.0
// The auto engine (the default): the preload library handles calls through
// libc's functions in-process, the ptrace supervisor every other call the
// policy names, and each call is handled by exactly one of them. -v names the
// layer at the end of each line: "(preload)" or "(ptrace)".
#include <stdlib.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

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
  // open() and fopen's openat (at libc's patched site) in-process; the raw
  // instruction of the program by the supervisor. Each call: two retries,
  // then the schedule is exhausted. A call seen by both layers would show
  // more attempts.
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, retry", "(preload)"}), 4u) << r.err;
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, schedule_exhausted", "(preload)"}), 2u) << r.err;
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, retry", "(ptrace)"}), 2u) << r.err;
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, schedule_exhausted", "(ptrace)"}), 1u) << r.err;
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  EXPECT_EQ(counter(row, "calls"), 3u) << row;
  EXPECT_EQ(counter(row, "attempts"), 9u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 3u) << row;
}

TEST(Auto, WithoutPatchingLibcsInternalCallsAreTheSupervisors) {
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  setenv("FTSC_PRELOAD_PATCH", "0", 1);  // ftsc and the command inherit it
  ProcessResult r =
      run_ftsc({"run", "-v", "--retry", "openat=ENOENT", "--backoff", "1ms,1ms", "--stats", stats,
                "--", prog("three_opens"), dir.path() + "/missing"});
  unsetenv("FTSC_PRELOAD_PATCH");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // open() in-process; fopen's openat and the raw instruction by the supervisor.
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, schedule_exhausted", "(preload)"}), 1u) << r.err;
  EXPECT_EQ(count_lines(r.err, {"= -ENOENT, schedule_exhausted", "(ptrace)"}), 2u) << r.err;
  EXPECT_EQ(counter(stats_row(stats, "openat", "ENOENT"), "attempts"), 9u);
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

TEST(Auto, BothLayersChargeOneBudgetInAPidNamespace) {
  // The program runs as pid 1 of a pid namespace of its own (unshare(1)),
  // where the library knows it by another id than the supervisor. Its three
  // failing opens may plan 150 ms of waiting: open()'s retry (the library's)
  // takes 100, so fopen's (the library's too, at libc's patched site) trips
  // the breaker and the raw call (the supervisor's) finds it tripped, as
  // outside a namespace. Two budgets would let the raw call's retry wait.
  ProcessResult probe = run_process({"unshare", "--pid", "--fork", "true"});
  std::vector<std::string> unshare = {"unshare", "--pid", "--fork"};
  if (probe.exit_code != 0) {
    unshare = {"unshare", "--user", "--map-root-user", "--pid", "--fork"};
    probe = run_process({"unshare", "--user", "--map-root-user", "--pid", "--fork", "true"});
  }
  if (probe.exit_code != 0)
    GTEST_SKIP() << "cannot make a pid namespace here (unshare --pid --fork true: " << probe.err
                 << ")";
  TempDir dir;
  std::string policy = dir.write("budget.toml",
                                 "version = 1\n"
                                 "[defaults]\n"
                                 "backoff = [\"100ms\"]\n"
                                 "[budget]\n"
                                 "window = \"3600s\"\n"
                                 "max_wait = \"150ms\"\n"
                                 "[[rule]]\n"
                                 "syscalls = \"openat\"\n"
                                 "retry = [\"ENOTDIR\"]\n");
  for (bool in_namespace : {false, true}) {
    std::string stats = dir.path() + "/stats.json";
    std::vector<std::string> args = {"run", "-v", "--policy", policy, "--stats", stats, "--"};
    if (in_namespace)
      args.insert(args.end(), unshare.begin(), unshare.end());
    args.push_back(prog("three_opens"));
    args.push_back("/etc/passwd/x");  // ENOTDIR: nothing else of the run meets it
    ProcessResult r = run_ftsc(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(count_lines(r.err, {"= -ENOTDIR, retry", "(preload)"}), 1u) << r.err;
    EXPECT_EQ(count_lines(r.err, {"= -ENOTDIR, budget", "(preload)"}), 1u) << r.err;
    EXPECT_EQ(count_lines(r.err, {"= -ENOTDIR, budget", "(ptrace)"}), 1u) << r.err;
    nlohmann::json row = stats_row(stats, "openat", "ENOTDIR");
    EXPECT_EQ(counter(row, "calls"), 3u) << (in_namespace ? "in a namespace " : "") << row;
    EXPECT_EQ(counter(row, "gave_up"), 1u) << (in_namespace ? "in a namespace " : "") << row;
    EXPECT_EQ(counter(row, "budget"), 2u) << (in_namespace ? "in a namespace " : "") << row;
  }
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
