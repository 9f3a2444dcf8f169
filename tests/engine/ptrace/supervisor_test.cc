// SPDX-License-Identifier: Apache-2.0
// The ptrace supervisor against programs that do unusual things while it
// traces them: sandbox themselves with seccomp, ask for a tracer of their own,
// exec while a thread waits for a retry, run with signals ignored. Whatever
// they do, ftsc must never be the fault.
#include <filesystem>

#include <gtest/gtest.h>

#include "engine/engine_support.h"
#include "support/capabilities.h"
#include "support/run_process.h"

namespace ftsc::test {
namespace {

// ftsc run under timeout(1): a hang fails the test instead of stalling it.
ProcessResult run_bounded(std::vector<std::string> args) {
  std::vector<std::string> argv{"timeout", "-k", "5", "60", FTSC_BINARY, "run"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv);
}

class OwnFilter : public ::testing::TestWithParam<const char*> {};

// The backoff waits in a poll(2) the thread itself runs; a program whose own
// filter refuses poll (or kills for it) waits in the supervisor instead, and
// is neither corrupted nor killed.
TEST_P(OwnFilter, ProgramThatRefusesPollIsNotHarmedByABackoff) {
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult native = run_process({prog("own_filter_refuses_poll"), GetParam()});
  ASSERT_EQ(native.exit_code, 0) << native.err;
  ProcessResult r =
      run_bounded({"--engine", "ptrace", "--retry", "mkdir=ENOENT", "--backoff", "10ms,10ms",
                   "--stats", stats, "--", prog("own_filter_refuses_poll"), GetParam()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, native.out);
  EXPECT_TRUE(contains(r.err, "its backoffs wait in ftsc instead of in the program")) << r.err;
  nlohmann::json row = stats_row(stats, "mkdir", "ENOENT");
  EXPECT_EQ(counter(row, "calls"), 2u) << row;
  EXPECT_EQ(counter(row, "retries"), 4u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 2u) << row;
}

TEST_P(OwnFilter, ProgramThatRefusesPollStillRecovers) {
  TempDir dir;
  const std::string late = dir.path() + "/late";
  ProcessResult native = run_process({prog("own_filter_refuses_poll"), GetParam(), "late", late});
  ASSERT_EQ(native.exit_code, 1) << "the directory was there in time natively";
  std::filesystem::remove_all(late);
  ProcessResult r = run_bounded({"--engine", "ptrace", "--retry", "mkdir=ENOENT", "--backoff",
                                 "100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms",
                                 "--", prog("own_filter_refuses_poll"), GetParam(), "late", late});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "mkdir: ok\n");
}

TEST_P(OwnFilter, SignalEndsTheWaitInTheSupervisor) {
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  // The wait (1.9 s) outlasts the alarm (1 s); the handler must run in it.
  ProcessResult r =
      run_bounded({"--engine", "ptrace", "--retry", "mkdir=ENOENT", "--backoff", "1900ms",
                   "--stats", stats, "--", prog("own_filter_refuses_poll"), GetParam(), "alarm"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json row = stats_row(stats, "mkdir", "ENOENT");
  EXPECT_EQ(counter(row, "interrupted"), 1u) << row;
  EXPECT_EQ(counter(row, "retries"), 0u) << row;
}

INSTANTIATE_TEST_SUITE_P(Supervisor, OwnFilter, ::testing::Values("errno", "kill"));

TEST(Supervisor, ChildThatAsksForATracerAndStopsEndsTheRunInsteadOfHanging) {
  ProcessResult native = run_process({prog("traceme_stop")});
  ASSERT_EQ(native.exit_code, 0) << native.err;
  ProcessResult r = run_bounded({"--engine", "ptrace", "--", prog("traceme_stop")});
  EXPECT_EQ(r.exit_code, 125) << r.err;  // not timeout(1)'s 124
  EXPECT_TRUE(contains(r.err, "called ptrace(PTRACE_TRACEME) and stopped for its tracer")) << r.err;
  EXPECT_TRUE(contains(r.err, "--engine preload")) << r.err;
}

TEST(Supervisor, ExecWhileAThreadWaitsEndsThatCall) {
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_bounded({"--engine", "ptrace", "--retry", "mkdir=ENOENT", "--backoff",
                                 "1500ms", "--stats", stats, "--", prog("exec_while_waiting")});
  EXPECT_EQ(r.exit_code, 7) << r.err;
  nlohmann::json row = stats_row(stats, "mkdir", "ENOENT");
  EXPECT_EQ(counter(row, "calls"), 1u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
  EXPECT_GT(counter(row, "wait_ns"), 100'000'000u) << row;  // the wait until the exec counts
}

// An execve that succeeds after retries ends its call as recovered (its exit
// stop never comes: the supervisor sees the exec event instead).
TEST(Supervisor, ExecveThatSucceedsAfterARetryIsRecovered) {
  for (const char* engine : {"ptrace", "auto"}) {
    TempDir dir;
    const std::string stats = dir.path() + "/stats.json";
    ProcessResult r = run_bounded({"--engine", engine, "--retry", "execve=ENOENT", "--inject",
                                   "execve:error=ENOENT:when=1", "--backoff", "10ms", "--stats",
                                   stats, "--", "/bin/true"});
    EXPECT_EQ(r.exit_code, 0) << engine << ": " << r.err;
    nlohmann::json row = stats_row(stats, "execve", "ENOENT");
    EXPECT_EQ(counter(row, "calls"), 1u) << engine << ": " << row;
    EXPECT_EQ(counter(row, "retries"), 1u) << engine << ": " << row;
    EXPECT_EQ(counter(row, "recovered"), 1u) << engine << ": " << row;
  }
}

// While one thread waits parked in the supervisor, the supervisor sleeps in
// poll(2) between stops; a SIGCHLD that interrupts that poll means a tracee
// stopped, not a failure to sleep 10 ms for. 200 traced calls of another
// thread take 20-120 ms under ptrace here; with a 10 ms stall per stop they
// took 1.4 s (until the parked wait of 1.5 s ended). The bound is far from
// both: a regression test, not a speed target.
TEST(Supervisor, AParkedThreadDoesNotSlowTheOtherTracees) {
  TempDir dir;
  ProcessResult r = run_bounded({"--engine", "ptrace", "--retry", "openat=ENOENT", "--backoff",
                                 "1500ms", "--", prog("parked_and_busy"), dir.path() + "/missing"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(std::stol(r.out), 1000) << "ms for 200 traced calls while a thread was parked\n"
                                    << r.err;
}

TEST(Supervisor, ThirtyTwoBitProgramRunsAndIsSaidToGoWithoutRetries) {
  if (std::string why = exec_32bit_missing(prog("i386_exit")); !why.empty())
    GTEST_SKIP() << why;
  ProcessResult native = run_process({prog("i386_exit")});
  ASSERT_EQ(native.exit_code, 3) << native.err;
  for (const char* engine : {"ptrace", "auto"}) {
    ProcessResult r =
        run_bounded({"--engine", engine, "--retry", "openat=ENOENT", "--", prog("i386_exit")});
    EXPECT_EQ(r.exit_code, 3) << engine << ": " << r.err;
    EXPECT_TRUE(contains(r.err, "runs a 32-bit program: ftsc does not retry its calls"))
        << engine << ": " << r.err;
  }
}

// An `ftsc run` nested with its environment cleared cannot tell it is nested
// and tries to trace a command its tracer already traces: it says so.
TEST(Supervisor, FtscUnderATracerSaysWhyItCannotTrace) {
  ProcessResult r = run_bounded({"--engine", "ptrace", "--", "env", "-i", FTSC_BINARY, "run",
                                 "--engine", "ptrace", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_TRUE(contains(r.err, "ftsc itself runs under a tracer")) << r.err;
  EXPECT_TRUE(contains(r.err, "keep FTSC_SUPERVISOR_PID in the environment")) << r.err;
}

// nohup, or a shell's trap '': a signal ignored when ftsc starts stays ignored
// for the command, whichever engine runs it.
TEST(Supervisor, SignalsIgnoredAtTheStartStayIgnoredForTheCommand) {
  const std::string ignore = "trap '' HUP INT QUIT; exec ";
  ProcessResult native = run_process({"sh", "-c", ignore + "grep SigIgn /proc/self/status"});
  ASSERT_EQ(native.exit_code, 0) << native.err;
  ASSERT_EQ(std::stoull(native.out.substr(native.out.find('\t')), nullptr, 16) & 7, 7u)
      << native.out;  // SIGHUP, SIGINT and SIGQUIT are bits 0, 1 and 2
  for (const char* engine : {"ptrace", "preload", "auto"}) {
    ProcessResult r = run_process(
        {"sh", "-c",
         ignore + FTSC_BINARY + " run --engine " + engine + " -- grep SigIgn /proc/self/status"});
    EXPECT_EQ(r.exit_code, 0) << engine << ": " << r.err;
    EXPECT_EQ(r.out, native.out) << engine;
  }
}

}  // namespace
}  // namespace ftsc::test
