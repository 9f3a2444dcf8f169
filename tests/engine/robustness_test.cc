// The supervisor must never be the fault: signals to ftsc reach the program,
// killing ftsc kills the program, job control and programs that use ptrace or
// seccomp themselves neither hang nor leave stopped processes behind.
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

extern char** environ;

namespace ftsc::test {
namespace {

using namespace std::chrono_literals;

// Orphans of these tests (a program whose ftsc was killed) are reparented to
// the test process, which reaps them: no zombie is left whatever PID 1 does.
class Robustness : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { prctl(PR_SET_CHILD_SUBREAPER, 1); }
  void TearDown() override {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }
};

pid_t spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  EXPECT_EQ(posix_spawn(&pid, args[0], nullptr, nullptr, args.data(), environ), 0);
  return pid;
}

// Waits up to `limit` for pid; its status, or -1 on time-out (then it is killed).
int wait_for(pid_t pid, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid)
      return status;
    std::this_thread::sleep_for(10ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  return -1;
}

// The pid a program wrote into file, once it is there.
pid_t read_pid(const std::string& file) {
  for (int i = 0; i < 500; ++i) {
    std::ifstream in(file);
    pid_t pid = 0;
    if (in >> pid && pid > 0)
      return pid;
    std::this_thread::sleep_for(10ms);
  }
  return 0;
}

bool gone(pid_t pid) {
  // Reap it if it became our child (subreaper), then look.
  waitpid(pid, nullptr, WNOHANG);
  return kill(pid, 0) != 0;
}

TEST_F(Robustness, TermToFtscReachesTheProgram) {
  TempDir dir;
  std::string pidfile = dir.path() + "/pid";
  pid_t ftsc = spawn({FTSC_BINARY, "run", "--retry", "openat=ENOENT", "--", "sh", "-c",
                      "echo $$ > " + pidfile + "; exec sleep 30"});
  pid_t program = read_pid(pidfile);
  ASSERT_GT(program, 0);
  kill(ftsc, SIGTERM);
  int status = wait_for(ftsc, 10s);
  ASSERT_NE(status, -1) << "ftsc did not end after SIGTERM";
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);  // the program died of it, ftsc re-raised it
  EXPECT_TRUE(gone(program));
}

TEST_F(Robustness, TerminalCtrlCReachesTheProgramOnce) {
  // script(1) runs ftsc on a pseudo-terminal; the ^C typed into it makes the
  // terminal send SIGINT to the foreground process group, ftsc included.
  // script starts its command with $SHELL -c; `exec` keeps that shell out of
  // the process group (dash, unlike bash, dies of a SIGINT its child survives).
  if (access("/usr/bin/script", X_OK) != 0)
    GTEST_SKIP() << "script(1) is not installed";
  std::string inner =
      "exec " + std::string(FTSC_BINARY) + " run --retry openat=ENOENT -- " + prog("sigint_count");
  ProcessResult r = run_process(
      {"sh", "-c",
       "(sleep 1.2; printf '\\003') | SHELL=/bin/sh script -qec '" + inner + "' /dev/null"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(contains(r.out, "ready")) << r.out;
  EXPECT_TRUE(contains(r.out, "sigint 1\r\n")) << r.out;
}

TEST_F(Robustness, KillingFtscKillsTheProgram) {
  TempDir dir;
  std::string pidfile = dir.path() + "/pid";
  pid_t ftsc = spawn({FTSC_BINARY, "run", "--retry", "openat=ENOENT", "--", "sh", "-c",
                      "echo $$ > " + pidfile + "; exec sleep 30"});
  pid_t program = read_pid(pidfile);
  ASSERT_GT(program, 0);
  kill(ftsc, SIGKILL);
  waitpid(ftsc, nullptr, 0);
  bool ended = false;
  for (int i = 0; i < 500 && !ended; ++i) {
    ended = gone(program);
    if (!ended)
      std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(ended) << "the program outlived its ftsc";
}

TEST_F(Robustness, ProgramThatUsesPtraceGetsADiagnostic) {
  ProcessResult r = run_ftsc({"run", "--", prog("uses_ptrace")});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "ptrace: Operation not permitted\n");
  EXPECT_TRUE(
      contains(r.err, "the program calls ptrace, which cannot work under the ptrace engine"))
      << r.err;
}

TEST_F(Robustness, ProgramWithItsOwnTracingSeccompFilterDoesNotHang) {
  ProcessResult r = run_ftsc({"run", "--retry", "getppid=EAGAIN", "--", prog("own_seccomp_trace")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "getppid: ok\n");
  EXPECT_TRUE(contains(r.err, "the program's own seccomp filter")) << r.err;
}

TEST_F(Robustness, OtherArchitecturesEntryPointsAreAllowed) {
  ProcessResult native = run_process({prog("int80_getpid")});
  if (native.exit_code != 0)
    GTEST_SKIP() << "this kernel has no 32-bit entry point: " << native.err;
  ProcessResult r = run_ftsc({"run", "--retry", "getpid=EAGAIN", "--", prog("int80_getpid")});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "int 0x80 ok\n");
}

TEST_F(Robustness, JobControlStopsAndContinues) {
  pid_t ftsc =
      spawn({FTSC_BINARY, "run", "--retry", "openat=ENOENT", "--", prog("stop_and_continue")});
  int status = wait_for(ftsc, 20s);
  ASSERT_NE(status, -1) << "the stopped program was never continued";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(Robustness, DryRunCountsButNeverRetries) {
  TempDir dir;
  std::string metrics = dir.path() + "/m.prom";
  ProcessResult r =
      run_ftsc({"run", "--dry-run", "--retry", "openat=ENOENT", "--backoff", "1s,1s,1s",
                "--metrics", metrics, "--", "cat", dir.path() + "/missing"});
  EXPECT_EQ(r.exit_code, 1);  // cat's own failure, at once
  std::ifstream in(metrics);
  std::string prom((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(contains(prom, "ftsc_would_retry_total{syscall=\"openat\",errno=\"ENOENT\"} 1"))
      << prom;
  EXPECT_TRUE(contains(prom, "ftsc_retries_total{syscall=\"openat\",errno=\"ENOENT\"} 0")) << prom;
}

}  // namespace
}  // namespace ftsc::test
