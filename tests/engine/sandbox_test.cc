// SPDX-License-Identifier: Apache-2.0
//
// Programs that confine themselves with a seccomp filter of their own, under
// the engines whose library runs inside them (preload and auto). The filter
// judges the library's own calls too (tests/engine/progs/preload_sandboxed.c
// refuses or kills for rt_sigprocmask, fcntl, getsockopt and ppoll): the
// library must stop making them, whether the program installed its filter
// through libc or with a `syscall` instruction of its own. Under auto the
// supervisor then handles the calls, parking the backoffs outside the
// program; alone, the calls pass through unretried and ftsc says so once. A
// wait that cannot take place (its ppoll refused by a filter ftsc itself runs
// under) ends the call instead of letting the schedule run without delays.
#include <sys/syscall.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

constexpr const char* kStoppedRetrying = "the program runs under a seccomp filter of its own";

size_t occurrences(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
    ++n;
  return n;
}

// engine, how the filter is installed ("libc" or "raw"), what it does ("errno" or "kill")
using Case = std::tuple<const char*, const char*, const char*>;

class Sandbox : public ::testing::TestWithParam<Case> {
 protected:
  const char* engine() const { return std::get<0>(GetParam()); }
  const char* how() const { return std::get<1>(GetParam()); }
  const char* action() const { return std::get<2>(GetParam()); }
  bool raw() const { return std::string(how()) == "raw"; }
  bool under_auto() const { return std::string(engine()) == "auto"; }
};

TEST_P(Sandbox, TheProgramsFilterMeetsNoneOfTheLibrarysCalls) {
  ProcessResult native = run_process({prog("preload_sandboxed"), action(), how()});
  ASSERT_EQ(native.exit_code, 0) << native.err;
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r =
      run_ftsc({"run", "--engine", engine(), "--retry", "mkdir=ENOENT", "--backoff", "10ms,10ms",
                "--stats", stats, "--", prog("preload_sandboxed"), action(), how()});
  EXPECT_EQ(r.exit_code, 0) << r.err;  // killed for a call of the library's: 128 + SIGSYS
  EXPECT_EQ(r.out, native.out) << r.err;
  nlohmann::json row = stats_row(stats, "mkdir", "ENOENT");
  if (under_auto()) {
    // The supervisor retries what the library leaves, in its parking lot;
    // through libc it learns at once, raw at the first failure, which ends
    // without a wait.
    EXPECT_TRUE(contains(r.err, "its backoffs wait in ftsc instead of in the program")) << r.err;
    EXPECT_FALSE(contains(r.err, kStoppedRetrying)) << r.err;
    EXPECT_EQ(counter(row, "calls"), 2u) << row;
    EXPECT_EQ(counter(row, "retries"), raw() ? 2u : 4u) << row;
    EXPECT_EQ(counter(row, "gave_up"), 2u) << row;
  } else {
    EXPECT_EQ(occurrences(r.err, kStoppedRetrying), 1u) << r.err;
    EXPECT_EQ(counter(row, "calls"), raw() ? 1u : 0u) << row;
    EXPECT_EQ(counter(row, "retries"), 0u) << row;
  }
}

TEST_P(Sandbox, UnderAutoAConfinedProgramStillRecovers) {
  TempDir dir;
  const std::string late = dir.path() + "/late";
  ProcessResult native = run_process({prog("preload_sandboxed"), action(), how(), "late", late});
  ASSERT_EQ(native.exit_code, 1) << "the directory was there in time natively";
  std::filesystem::remove_all(late);
  ProcessResult r = run_ftsc({"run", "--engine", engine(), "--retry", "mkdir=ENOENT", "--backoff",
                              "100ms,100ms,100ms,100ms,100ms,100ms,100ms,100ms", "--",
                              prog("preload_sandboxed"), action(), how(), "late", late});
  if (under_auto() && !raw()) {
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "mkdir: ok\n");
  } else {
    // Alone, or the call that revealed a raw filter: no retry, as natively.
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_EQ(r.out, native.out);
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, Sandbox,
                         ::testing::Combine(::testing::Values("preload", "auto"),
                                            ::testing::Values("libc", "raw"),
                                            ::testing::Values("errno", "kill")),
                         [](const ::testing::TestParamInfo<Case>& c) {
                           return std::string(std::get<0>(c.param)) + "_" + std::get<1>(c.param) +
                                  "_" + std::get<2>(c.param);
                         });

TEST(SandboxAlone, SaysOncePerRun) {
  const std::string p = prog("preload_sandboxed");
  ProcessResult r =
      run_ftsc({"run", "--engine", "preload", "--retry", "mkdir=ENOENT", "--", "sh", "-c",
                p + " errno libc && " + p + " kill libc && " + p + " errno raw"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(occurrences(r.err, kStoppedRetrying), 1u) << r.err;
}

class RefusedWait : public ::testing::TestWithParam<const char*> {};

TEST_P(RefusedWait, EndsTheCallInsteadOfRetryingWithoutDelay) {
  // ftsc and the command run under a filter that refuses ppoll, the
  // library's wait. open()'s and fopen's retries (the library's: fopen's
  // openat at libc's patched site) cannot wait: each call ends with its
  // error, counted as given up, without retries. Under auto, the raw call's
  // (the supervisor's, which waits in poll) are retried as usual.
  TempDir dir;
  const std::string stats = dir.path() + "/stats.json";
  ProcessResult r =
      run_process({FTSC_REFUSE_SYSCALLS, "ppoll", "--", FTSC_BINARY, "run", "-v", "--engine",
                   GetParam(), "--retry", "openat=ENOTDIR", "--backoff", "10ms,10ms,10ms",
                   "--stats", stats, "--", prog("three_opens"), "/etc/passwd/x"});
  ASSERT_NE(r.exit_code, 125) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const bool under_auto = std::string(GetParam()) == "auto";
  nlohmann::json row = stats_row(stats, "openat", "ENOTDIR");
  EXPECT_EQ(counter(row, "calls"), under_auto ? 3u : 2u) << row;
  EXPECT_EQ(counter(row, "gave_up"), under_auto ? 3u : 2u) << row;
  EXPECT_EQ(counter(row, "retries"), under_auto ? 3u : 0u) << row;
  EXPECT_EQ(occurrences(r.err, "retry 2/3"), under_auto ? 1u : 0u) << r.err;
  // The library's calls say why they ended: not a signal, no wait.
  EXPECT_EQ(counter(row, "interrupted"), 0u) << row;
  EXPECT_EQ(occurrences(r.err, "= -ENOTDIR, cannot_wait"), 2u) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Engines, RefusedWait, ::testing::Values("preload", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

}  // namespace
}  // namespace ftsc::test
