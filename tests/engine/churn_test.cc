// SPDX-License-Identifier: Apache-2.0
//
// Churn never hurts the supervisor: under a broad policy, programs whose
// threads and processes come and go while their calls are being retried
// (threads that end inside a backoff, a process that execs a set-user-ID
// program, an fd closed just before a guard inspects it, a fork storm) end
// with their native exit status, leave nothing behind (the fixture checks),
// and their statistics add up.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

// The syscalls programs make all the time, with the errnos that are their
// usual transient faults: most calls of these programs go through a rule.
constexpr const char* kBroadPolicy = R"(
[defaults]
backoff = ["40ms", "40ms", "40ms", "40ms"]

[[rule]]
syscalls = ["openat", "open", "execve"]
retry = ["ENOENT"]

[[rule]]
syscalls = ["read", "recvfrom", "write", "sendto"]
retry = ["EAGAIN", "EIO"]

[[rule]]
syscalls = ["clone", "clone3", "fork", "vfork"]
retry = ["EAGAIN"]

[[rule]]
syscalls = ["mmap", "munmap"]
retry = ["ENOMEM"]
)";

class Churn : public LeftoverCheckedEngineTest {
 protected:
  // Runs the churn program natively and under ftsc with the broad policy
  // (and `extra` options); both must end with `expected`. Returns the run.
  ProcessResult run_both(const std::vector<std::string>& program, int expected,
                         const std::vector<std::string>& extra = {}) {
    ProcessResult native = run_process(program);
    EXPECT_EQ(native.exit_code, expected) << "natively: " << native.out << native.err;
    std::string policy = dir_.write("broad.toml", kBroadPolicy);
    std::vector<std::string> args = {"run",      "--engine",  GetParam(),
                                     "--policy", policy,      "--stats",
                                     stats(),    "--backoff", "40ms,40ms,40ms,40ms"};
    args.insert(args.end(), extra.begin(), extra.end());
    args.emplace_back("--");
    args.insert(args.end(), program.begin(), program.end());
    ProcessResult r = run_ftsc(args);
    EXPECT_EQ(r.exit_code, expected) << "under ftsc: " << r.out << r.err;
    expect_statistics_add_up();
    return r;
  }
  std::string stats() const { return dir_.path() + "/stats.json"; }
  std::string churn() const { return prog("churn"); }

  // Every counted call ended in exactly one outcome; attempts are calls plus
  // retries.
  void expect_statistics_add_up() {
    std::ifstream in(stats());
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "no statistics in " << stats();
    for (const nlohmann::json& row : j["rows"]) {
      EXPECT_EQ(counter(row, "calls"), counter(row, "recovered") + counter(row, "gave_up") +
                                           counter(row, "passed") + counter(row, "would_retry") +
                                           counter(row, "budget"))
          << row;
      EXPECT_EQ(counter(row, "attempts"), counter(row, "calls") + counter(row, "retries")) << row;
    }
  }

  TempDir dir_;
};

TEST_P(Churn, ThreadsEndingInsideTheirBackoffs) {
  ProcessResult r = run_both({churn(), "backoff_exit", dir_.path() + "/missing"}, 3);
  nlohmann::json row = stats_row(stats(), "openat", "ENOENT");
  EXPECT_GT(counter(row, "retries"), 0u) << row;
  EXPECT_GT(counter(row, "interrupted"), 0u) << "no thread was in a backoff at the exit: " << row;
}

TEST_P(Churn, AProcessThatExecsASetUserIdProgram) {
  // A copy of the churn program, set-user-ID to nobody: the exec'd process
  // runs with another effective user (the loader ignores LD_PRELOAD for it,
  // so under auto the supervisor alone handles it).
  const std::string target = dir_.path() + "/setuid_churn";
  std::filesystem::copy_file(churn(), target);
  struct statvfs fs {};
  if (statvfs(dir_.path().c_str(), &fs) == 0 && (fs.f_flag & ST_NOSUID) != 0)
    GTEST_SKIP() << dir_.path() << " is on a file system mounted nosuid";
  if (chown(target.c_str(), 65534, 65534) != 0 || chmod(target.c_str(), 04755) != 0)
    GTEST_SKIP() << "cannot make " << target << " set-user-ID to nobody: " << strerror(errno);
  if (access(dir_.path().c_str(), X_OK) != 0 || chmod(dir_.path().c_str(), 0755) != 0)
    GTEST_SKIP() << "cannot open " << dir_.path() << " to nobody";
  ProcessResult native = run_process({churn(), "setuid_exec", target, dir_.path() + "/missing"});
  if (native.out.rfind("euid 65534 ", 0) != 0)
    GTEST_SKIP() << "set-user-ID programs do not change the effective user here: " << native.out;
  ProcessResult r = run_both({churn(), "setuid_exec", target, dir_.path() + "/missing"}, 5);
  EXPECT_EQ(r.out, native.out) << r.err;
}

TEST_P(Churn, AnFdClosedBeforeItsGuardLooks) {
  // recv fails with EAGAIN after its socket timeout; by then another thread
  // closed the fd, so no guard can see the timeout: not retried (a retry
  // would meet EBADF and the program would see that instead of EAGAIN).
  run_both({churn(), "close_under_guard"}, 0);
  nlohmann::json row = stats_row(stats(), "recvfrom", "EAGAIN");
  EXPECT_EQ(counter(row, "calls"), 8u) << row;
  EXPECT_EQ(counter(row, "guard_unknown"), 8u) << row;
  EXPECT_EQ(counter(row, "retries"), 0u) << row;
}

TEST_P(Churn, AForkStorm) {
  // 200 processes, a fifth of whose opens fail by injection and are retried.
  run_both({churn(), "fork_storm"}, 0, {"--inject", "openat:error=ENOENT:p=0.2:seed=7"});
  nlohmann::json row = stats_row(stats(), "openat", "ENOENT");
  EXPECT_GT(counter(row, "injected"), 100u) << row;
  EXPECT_GT(counter(row, "recovered"), 100u) << row;
  // Each injected failure was retried or ended its call.
  EXPECT_LE(counter(row, "injected"), counter(row, "retries") + counter(row, "gave_up") +
                                          counter(row, "passed") + counter(row, "budget"))
      << row;
}

INSTANTIATE_TEST_SUITE_P(Engines, Churn, ::testing::Values("ptrace", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

}  // namespace
}  // namespace ftsc::test
