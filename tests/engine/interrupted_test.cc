// SPDX-License-Identifier: Apache-2.0
//
// Calls that a signal interrupts, the same under every engine: a restart the
// kernel makes after a handler with SA_RESTART continues the call ftsc was
// retrying (its schedule, its statistics), and an EINTR rule retries a call
// whose handler had no SA_RESTART, in-process and under the supervisor alike.
#include <sys/syscall.h>

#include <string>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

class Interrupted : public LeftoverCheckedEngineTest {};

TEST_P(Interrupted, ARestartedAttemptContinuesTheCall) {
  // The first recv is failed by injection and retried; the retried attempt
  // blocks, a signal with an SA_RESTART handler interrupts it, the kernel
  // restarts it, and it receives the byte: one call, recovered after one retry.
  ProcessResult native = run_process({prog("interrupted_recv"), "restart"});
  ASSERT_EQ(native.exit_code, 0) << native.out << native.err;
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run_ftsc({"run", "--engine", GetParam(), "--retry", "recvfrom=ECONNRESET",
                              "--inject", "recvfrom:error=ECONNRESET:when=1", "--backoff", "10ms",
                              "--stats", stats, "--", prog("interrupted_recv"), "restart"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json row = stats_row(stats, "recvfrom", "ECONNRESET");
  EXPECT_EQ(counter(row, "calls"), 1u) << row;
  EXPECT_EQ(counter(row, "retries"), 1u) << row;
  EXPECT_EQ(counter(row, "recovered"), 1u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 0u) << row;
}

TEST_P(Interrupted, AnEintrRuleRetriesACallTheHandlerInterrupted) {
  // Without SA_RESTART the program sees EINTR natively; a rule that retries
  // EINTR makes the call go on after the handler ran, under every engine.
  ProcessResult native = run_process({prog("interrupted_recv"), "intr"});
  ASSERT_EQ(native.exit_code, 1) << native.out << native.err;
  ASSERT_TRUE(contains(native.out, "Interrupted system call")) << native.out;
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r =
      run_ftsc({"run", "--engine", GetParam(), "--retry", "recvfrom=EINTR", "--backoff", "10ms",
                "--stats", stats, "--", prog("interrupted_recv"), "intr"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "handler ran 1 time")) << r.out;
  nlohmann::json row = stats_row(stats, "recvfrom", "EINTR");
  EXPECT_EQ(counter(row, "calls"), 1u) << row;
  EXPECT_EQ(counter(row, "retries"), 1u) << row;
  EXPECT_EQ(counter(row, "recovered"), 1u) << row;
}

TEST_P(Interrupted, WithoutAnEintrRuleTheProgramSeesEintrAsNatively) {
  ProcessResult r = run_ftsc({"run", "--engine", GetParam(), "--retry", "recvfrom=ECONNRESET", "--",
                              prog("interrupted_recv"), "intr"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "recv -1 Interrupted system call, handler ran 1 time")) << r.out;
  ProcessResult restart = run_ftsc({"run", "--engine", GetParam(), "--retry", "recvfrom=ECONNRESET",
                                    "--", prog("interrupted_recv"), "restart"});
  EXPECT_EQ(restart.exit_code, 0) << restart.out << restart.err;
}

INSTANTIATE_TEST_SUITE_P(Engines, Interrupted, ::testing::Values("ptrace", "preload", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

}  // namespace
}  // namespace ftsc::test
