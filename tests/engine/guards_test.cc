// Guards and the retry budget, the same under every engine, seen in the
// statistics of real runs.
#include <gtest/gtest.h>

#include <string>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

class Guards : public ::testing::TestWithParam<const char*> {};

TEST_P(Guards, NonBlockingFlagAndSocketTimeoutAreTheProgramsProtocol) {
  // MSG_DONTWAIT (the flags argument) and SO_RCVTIMEO (the socket): EAGAIN is
  // passed at once although the policy retries recvfrom EAGAIN.
  TempDir dir;
  for (const char* program : {"recv_dontwait", "socket_timeout"}) {
    std::string stats = dir.path() + "/" + program + ".json";
    ProcessResult r = run_ftsc({"run", "--engine", GetParam(), "--retry", "recvfrom=EAGAIN",
                                "--stats", stats, "--", prog(program)});
    EXPECT_EQ(r.exit_code, 0) << program << ": " << r.err;
    nlohmann::json row = stats_row(stats, "recvfrom", "EAGAIN");
    EXPECT_EQ(counter(row, "passed"), 1u) << program << ": " << row;
    EXPECT_EQ(counter(row, "retries"), 0u) << program << ": " << row;
  }
}

TEST_P(Guards, BudgetStopsARetryStorm) {
  // Budget windows are aligned to multiples of their length on the monotonic
  // clock, so a run that crosses a boundary gets a fresh budget: a day-long
  // window keeps this run inside one.
  TempDir dir;
  std::string policy = dir.write("budget.toml",
                                 "[defaults]\n"
                                 "backoff = [\"40ms\", \"40ms\", \"40ms\", \"40ms\", \"40ms\"]\n"
                                 "[budget]\n"
                                 "window = \"24h\"\n"
                                 "max_wait = \"100ms\"\n"
                                 "[[rule]]\n"
                                 "syscalls = [\"openat\"]\n"
                                 "retry = [\"ENOENT\"]\n");
  std::string stats = dir.path() + "/stats.json";
  std::string missing = dir.path() + "/missing";
  // Three opens of a file that never appears: the first spends the budget
  // (two retries, the third would exceed it), the others pass through at once.
  ProcessResult r = run_ftsc({"run", "--engine", GetParam(), "--policy", policy, "--stats", stats,
                              "--", "cat", missing, missing, missing});
  EXPECT_EQ(r.exit_code, 1);  // cat could not open them
  nlohmann::json row = stats_row(stats, "openat", "ENOENT");
  // At least cat's three opens; under ptrace also the opens inside libc
  // (locale files) that the preload engine cannot see.
  EXPECT_GE(counter(row, "budget"), 3u) << row;
  EXPECT_EQ(counter(row, "retries"), 2u) << row;  // 40 ms + 40 ms, then the budget is spent
  EXPECT_TRUE(contains(r.err, "the retry budget ran out")) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Engines, Guards, ::testing::Values("ptrace", "preload", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

}  // namespace
}  // namespace ftsc::test
