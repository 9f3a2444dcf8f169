// Guards and the retry budget under the ptrace engine, seen in its statistics.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "cli/run_ftsc.h"

namespace ftsc::test {
namespace {

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(Guards, NonBlockingFlagArgumentIsTheProgramsProtocol) {
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_ftsc({"run", "--retry", "recvfrom=EAGAIN", "--stats", stats, "--",
                              std::string(FTSC_ENGINE_PROGS) + "/recv_dontwait"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string json = slurp(stats);
  EXPECT_TRUE(contains(json, "\"errno\": \"EAGAIN\"")) << json;
  EXPECT_TRUE(contains(json, "\"retries\": 0")) << json;
  EXPECT_TRUE(contains(json, "\"passed\": 1")) << json;
}

TEST(Guards, BudgetStopsARetryStorm) {
  TempDir dir;
  std::string policy = dir.write("budget.toml",
                                 "[defaults]\n"
                                 "backoff = [\"40ms\", \"40ms\", \"40ms\", \"40ms\", \"40ms\"]\n"
                                 "[budget]\n"
                                 "window = \"1m\"\n"
                                 "max_wait = \"100ms\"\n"
                                 "[[rule]]\n"
                                 "syscalls = [\"openat\"]\n"
                                 "retry = [\"ENOENT\"]\n");
  std::string stats = dir.path() + "/stats.json";
  std::string missing = dir.path() + "/missing";
  // Three opens of a file that never appears: the first spends the budget,
  // the others pass through at once.
  ProcessResult r = run_ftsc(
      {"run", "--policy", policy, "--stats", stats, "--", "cat", missing, missing, missing});
  EXPECT_EQ(r.exit_code, 1);  // cat could not open them
  std::string json = slurp(stats);
  EXPECT_TRUE(contains(json, "\"budget_trips\": 1")) << json;
  EXPECT_TRUE(contains(r.err, "the retry budget ran out")) << r.err;
}

}  // namespace
}  // namespace ftsc::test
