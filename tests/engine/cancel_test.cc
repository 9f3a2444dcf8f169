// SPDX-License-Identifier: Apache-2.0
//
// pthread_cancel under the engines whose library wraps libc's cancellation
// points (preload and auto): a thread in read, connect or fsync through the
// library is cancelled as through glibc's own function, whether the request
// was pending, comes while the call blocks, or comes while the call waits
// between retries (tests/engine/progs/preload_cancel.c). Its cleanup
// handlers run, frame-based ones included, with the thread's own signal mask.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

constexpr const char* kCancelled = "cancelled, cleanup ran, mask kept\n";

class Cancel : public LeftoverCheckedEngineTest {
 protected:
  ProcessResult run(const std::vector<std::string>& options, const char* mode,
                    const std::string& stats = {}) {
    std::vector<std::string> args = {"run", "--engine", GetParam()};
    args.insert(args.end(), options.begin(), options.end());
    if (!stats.empty()) {
      args.push_back("--stats");
      args.push_back(stats);
    }
    args.push_back("--");
    args.push_back(prog("preload_cancel"));
    args.push_back(mode);
    return run_ftsc(args);
  }
};

TEST_P(Cancel, AThreadBlockedInACallIsCancelled) {
  ProcessResult native = run_process({prog("preload_cancel"), "read"});
  ASSERT_EQ(native.out, kCancelled) << "natively";
  // A policy that retries read: the call goes through the library's retry path too.
  ProcessResult r = run({"--retry", "read=EIO"}, "read");
  EXPECT_EQ(r.out, kCancelled) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_P(Cancel, APendingRequestActsWhenTheCallStarts) {
  ProcessResult native = run_process({prog("preload_cancel"), "pending"});
  ASSERT_EQ(native.out, kCancelled) << "natively";
  ProcessResult r = run({"--retry", "read=EIO"}, "pending");
  EXPECT_EQ(r.out, kCancelled) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_P(Cancel, TheWaitBetweenRetriesIsACancellationPoint) {
  // connect fails at once; the thread waits 1.9 s for its retry when it is
  // cancelled (after 300 ms). The call ends in the statistics as one whose
  // wait a signal ended.
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r =
      run({"--retry", "connect=ENOENT", "--backoff", "1900ms,1900ms"}, "connect", stats);
  EXPECT_EQ(r.out, kCancelled) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json row = stats_row(stats, "connect", "ENOENT");
  EXPECT_EQ(counter(row, "calls"), 1u) << row;
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
  EXPECT_EQ(counter(row, "interrupted"), 1u) << row;
}

TEST_P(Cancel, AnInjectedFailuresWaitIsACancellationPoint) {
  // Injections take the library's full path under preload and the
  // supervisor's under auto: both waits end with the cancellation.
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run(
      {"--retry", "fsync=EIO", "--inject", "fsync:error=EIO:when=1+", "--backoff", "1900ms,1900ms"},
      "fsync", stats);
  EXPECT_EQ(r.out, kCancelled) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json row = stats_row(stats, "fsync", "EIO");
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
  EXPECT_EQ(counter(row, "interrupted"), 1u) << row;
}

TEST_P(Cancel, ARequestActingWhileARetryIsDecidedLeavesTheSignalMaskAlone) {
  // A signal handler asks to cancel the (only) thread and makes read fail
  // with EINTR; the request acts at the wait for the retry, while the
  // library blocks every signal to decide: the cleanup handler must find
  // the thread's own mask.
  TempDir dir;
  std::string stats = dir.path() + "/stats.json";
  ProcessResult r = run({"--retry", "read=EINTR", "--backoff", "1900ms"}, "handler", stats);
  EXPECT_EQ(r.out, kCancelled) << r.err;
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json row = stats_row(stats, "read", "EINTR");
  EXPECT_EQ(counter(row, "gave_up"), 1u) << row;
}

INSTANTIATE_TEST_SUITE_P(Engines, Cancel, ::testing::Values("preload", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

}  // namespace
}  // namespace ftsc::test
