// SPDX-License-Identifier: Apache-2.0
// The supervisor must never be the fault: signals to ftsc reach the program,
// killing ftsc kills the program, job control and programs that use ptrace or
// seccomp themselves neither hang nor leave stopped processes behind. Every
// scenario runs under each engine with the ptrace supervisor (ptrace, auto).
//
// Nothing here waits for a fixed time and hopes: a test waits for what the
// program says (its pid, "ready") or for what the kernel says about it
// (/proc/PID/stat), always with a limit that fails the test well before
// ctest's TIMEOUT, and no test leaves a process behind (see TearDown).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"
#include "support/capabilities.h"

extern char** environ;

namespace ftsc::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A pipe whose ends close themselves. Both are close-on-exec: a child gets
// an end only as one of its standard streams (Child's dup2).
class Pipe {
 public:
  Pipe() { EXPECT_EQ(pipe2(fds_, O_CLOEXEC), 0) << std::strerror(errno); }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  int read_end() const { return fds_[0]; }
  int write_end() const { return fds_[1]; }
  void close_read() { close_end(0); }
  void close_write() { close_end(1); }

 private:
  void close_end(int i) {
    if (fds_[i] >= 0)
      close(fds_[i]);
    fds_[i] = -1;
  }
  int fds_[2] = {-1, -1};
};

// The standard streams of a Child: these fds, or the test's own where -1.
struct Stdio {
  int in = -1;
  int out = -1;
  int err = -1;
};

// A process the test started (argv[0] searched in PATH). It is killed and
// reaped when the object dies unless it was waited for, so that a failed
// assertion leaves nothing running.
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv, Stdio stdio = {},
                 const std::vector<std::string>* env = nullptr) {
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<char*> envp;
    if (env != nullptr) {
      for (const std::string& e : *env)
        envp.push_back(const_cast<char*>(e.c_str()));
      envp.push_back(nullptr);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const int fds[3] = {stdio.in, stdio.out, stdio.err};
    for (int target = 0; target < 3; ++target)
      if (fds[target] >= 0)
        posix_spawn_file_actions_adddup2(&actions, fds[target], target);
    int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(),
                          env != nullptr ? envp.data() : environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      ADD_FAILURE() << "cannot start " << argv[0] << ": " << std::strerror(rc);
      pid_ = -1;
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }

  // Its wait status once it ends within `limit`; -1 if it does not (it is
  // then killed and reaped).
  int wait(std::chrono::milliseconds limit) {
    if (pid_ <= 0)
      return -1;
    const auto end = Clock::now() + limit;
    do {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return status;
      }
      std::this_thread::sleep_for(10ms);
    } while (Clock::now() < end);
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return -1;
  }

 private:
  pid_t pid_ = -1;
};

// Appends what fd delivers to `out` until `needle` is in it (an empty
// needle: until end of file). False if the deadline passed first, or, for a
// needle, the file ended without it.
bool read_until(int fd, std::string& out, const std::string& needle, Clock::time_point deadline) {
  while (needle.empty() || out.find(needle) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left <= 0ms)
      return false;
    pollfd p{fd, POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR)
      continue;
    if (ready <= 0)
      return false;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return needle.empty();
    out.append(buf, static_cast<size_t>(n));
  }
  return true;
}

bool stopped(char state) {
  return state == 'T' || state == 't';
}

// Whether pid is stopped and stays so for `settle`, within `limit`. Under a
// tracer the stop of SIGSTOP looks like the short stop in which the tracer
// sees the signal ('t' both), so one look is not enough; a job that is
// really stopped stays stopped.
bool stays_stopped(pid_t pid, std::chrono::milliseconds settle, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  auto since = Clock::time_point::max();
  while (Clock::now() < end) {
    char state = state_of(pid);
    if (state == '\0' || state == 'Z')
      return false;  // it ended without stopping
    if (!stopped(state))
      since = Clock::time_point::max();
    else if (since == Clock::time_point::max())
      since = Clock::now();
    else if (Clock::now() - since >= settle)
      return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// The pid a program wrote into file, once it is there; 0 after 20 s.
pid_t read_pid(const std::string& file) {
  const auto end = Clock::now() + 20s;
  do {
    std::ifstream in(file);
    pid_t pid = 0;
    if (in >> pid && pid > 0)
      return pid;
    std::this_thread::sleep_for(10ms);
  } while (Clock::now() < end);
  return 0;
}

bool gone(pid_t pid) {
  // Reap it if it became our child (subreaper), then look.
  waitpid(pid, nullptr, WNOHANG);
  return kill(pid, 0) != 0;
}

// Whether pid is gone within `limit`.
bool ends_within(pid_t pid, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (!gone(pid)) {
    if (Clock::now() >= end)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// The environment with NAME=value in place of any NAME there.
std::vector<std::string> environment_with(const std::string& name, const std::string& value) {
  std::vector<std::string> env;
  const std::string prefix = name + "=";
  for (char** e = environ; *e != nullptr; ++e)
    if (std::strncmp(*e, prefix.c_str(), prefix.size()) != 0)
      env.emplace_back(*e);
  env.push_back(prefix + value);
  return env;
}

// The parameter is the engine (--engine).
class Robustness : public LeftoverCheckedEngineTest {
 protected:
  // The arguments of `ftsc run --engine <engine>` followed by args.
  std::vector<std::string> run_args(const std::vector<std::string>& args) const {
    std::vector<std::string> all{"run", "--engine", GetParam()};
    all.insert(all.end(), args.begin(), args.end());
    return all;
  }
  // The same with the ftsc binary in front, to start it as a Child.
  std::vector<std::string> ftsc_argv(const std::vector<std::string>& args) const {
    std::vector<std::string> all = run_args(args);
    all.insert(all.begin(), FTSC_BINARY);
    return all;
  }
};

TEST_P(Robustness, TermToFtscReachesTheProgram) {
  TempDir dir;
  std::string pidfile = dir.path() + "/pid";
  Child ftsc(ftsc_argv(
      {"--retry", "openat=ENOENT", "--", "sh", "-c", "echo $$ > " + pidfile + "; exec sleep 30"}));
  pid_t program = read_pid(pidfile);
  ASSERT_GT(program, 0);
  kill(ftsc.pid(), SIGTERM);
  int status = ftsc.wait(20s);
  ASSERT_NE(status, -1) << "ftsc did not end after SIGTERM";
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGTERM);  // the program died of it, ftsc re-raised it
  EXPECT_TRUE(gone(program));
}

// systemd's KillMode=control-group sends SIGTERM to each process of the
// service, ftsc and its command alike; kill -TERM -PGID does the same to a
// process group. The command must get one SIGTERM, not its own and ftsc's
// forwarded copy (many programs take a second one as "stop now").
TEST_P(Robustness, SignalSentToFtscAndTheProgramReachesItOnce) {
  Pipe out;
  Child ftsc(ftsc_argv({"--retry", "openat=ENOENT", "--", prog("signal_copies")}),
             {-1, out.write_end(), -1});
  out.close_write();
  std::string text;
  ASSERT_TRUE(read_until(out.read_end(), text, "\n", Clock::now() + 20s)) << text;
  ASSERT_EQ(text.rfind("ready ", 0), 0u) << text;
  pid_t program = std::stoi(text.substr(6));
  ASSERT_EQ(kill(program, SIGTERM), 0);
  ASSERT_TRUE(read_until(out.read_end(), text, "got 1\n", Clock::now() + 20s)) << text;
  ASSERT_EQ(kill(ftsc.pid(), SIGTERM), 0);  // forwarded: the second copy of one signal
  read_until(out.read_end(), text, "", Clock::now() + 20s);
  int status = ftsc.wait(20s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(contains(text, "terms 1\n")) << text;
}

TEST_P(Robustness, TerminalCtrlCReachesTheProgramOnce) {
  // script(1) runs ftsc on a pseudo-terminal; the ^C typed into it, once the
  // program says it is ready, makes the terminal send SIGINT to the
  // foreground process group, ftsc included.
  // script starts its command with $SHELL -c; `exec` keeps that shell out of
  // the process group (dash, unlike bash, dies of a SIGINT its child survives).
  if (std::string why = terminal_missing(); !why.empty())
    GTEST_SKIP() << why;
  std::string inner = "exec " + std::string(FTSC_BINARY) + " run --engine " + GetParam() +
                      " --retry openat=ENOENT -- " + prog("sigint_count");
  std::vector<std::string> env = environment_with("SHELL", "/bin/sh");
  Pipe terminal_in;
  Pipe terminal_out;
  Child script({find_program("script"), "-qec", inner, "/dev/null"},
               {terminal_in.read_end(), terminal_out.write_end(), terminal_out.write_end()}, &env);
  terminal_in.close_read();
  terminal_out.close_write();

  std::string out;
  // The whole line: "already running under ftsc" is no sign of readiness.
  bool ready = read_until(terminal_out.read_end(), out, "ready\r\n", Clock::now() + 40s);
  ASSERT_TRUE(ready) << "the program did not say it was ready within 40 s: " << out;
  ASSERT_EQ(write(terminal_in.write_end(), "\003", 1), 1) << std::strerror(errno);
  terminal_in.close_write();  // the end of script's input, as at the end of a pipe
  bool ended = read_until(terminal_out.read_end(), out, "", Clock::now() + 40s);
  int status = script.wait(ended ? 20s : 0s);
  ASSERT_TRUE(ended) << "the program did not end within 40 s of ^C: " << out;
  ASSERT_NE(status, -1) << "script(1) did not end: " << out;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << out;
  EXPECT_TRUE(contains(out, "ready")) << out;
  EXPECT_TRUE(contains(out, "sigint 1\r\n")) << out;
}

TEST_P(Robustness, KillingFtscKillsTheProgram) {
  TempDir dir;
  std::string pidfile = dir.path() + "/pid";
  Child ftsc(ftsc_argv(
      {"--retry", "openat=ENOENT", "--", "sh", "-c", "echo $$ > " + pidfile + "; exec sleep 30"}));
  pid_t program = read_pid(pidfile);
  ASSERT_GT(program, 0);
  kill(ftsc.pid(), SIGKILL);
  ftsc.wait(20s);
  EXPECT_TRUE(ends_within(program, 20s)) << "the program outlived its ftsc";
}

TEST_P(Robustness, ProgramThatUsesPtraceGetsADiagnostic) {
  ProcessResult r = run_ftsc(run_args({"--", prog("uses_ptrace")}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "ptrace: Operation not permitted\n");
  EXPECT_TRUE(
      contains(r.err, "the program calls ptrace, which cannot work under the ptrace engine"))
      << r.err;
}

// Without a tracer, a filter's SECCOMP_RET_TRACE makes the call fail with
// ENOSYS (seccomp(2)); under ftsc, whose tracer is not the program's, too.
TEST_P(Robustness, ProgramWithItsOwnTracingSeccompFilterDoesNotHang) {
  ProcessResult native = run_process({prog("own_seccomp_trace")});
  ASSERT_EQ(native.out, "getppid: Function not implemented\n") << native.err;
  ProcessResult r =
      run_ftsc(run_args({"--retry", "getppid=EAGAIN", "--", prog("own_seccomp_trace")}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, native.out);
  EXPECT_TRUE(contains(r.err, "the program's own seccomp filter asks a tracer")) << r.err;
}

// Calls through other architectures' entry points are not ftsc's to judge:
// its filter lets them through, where libseccomp's default would kill the
// program. The i386 entry (int 0x80) exists only where the kernel runs 32-bit
// code; an x32 call (bit 30 of the number) reaches the filter on every x86_64
// kernel, which then runs it or fails it with ENOSYS, under ftsc as natively.
TEST_P(Robustness, OtherArchitecturesEntryPointsAreAllowed) {
  if (std::string why = int80_missing(); !why.empty())
    GTEST_SKIP() << why;
  ProcessResult native = run_process({prog("int80_getpid")});
  ASSERT_EQ(native.exit_code, 0) << native.err;
  ProcessResult r = run_ftsc(run_args({"--retry", "getpid=EAGAIN", "--", prog("int80_getpid")}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "int 0x80 ok\n");
}

TEST_P(Robustness, X32EntryPointIsAllowed) {
  ProcessResult native = run_process({prog("x32_getpid")});
  ASSERT_EQ(native.exit_code, 0) << native.err;
  ProcessResult r = run_ftsc(run_args({"--retry", "getpid=EAGAIN", "--", prog("x32_getpid")}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, native.out);
}

TEST_P(Robustness, JobControlStopsAndContinues) {
  // The test plays the shell: it sends SIGCONT (`fg`) only once the program
  // is really stopped, so the SIGCONT cannot come before the stop.
  Pipe out;
  Child ftsc(ftsc_argv({"--retry", "openat=ENOENT", "--", prog("stop_and_continue")}),
             {.out = out.write_end()});
  out.close_write();
  std::string said;
  ASSERT_TRUE(read_until(out.read_end(), said, "\n", Clock::now() + 20s))
      << "the program did not start: " << said;
  pid_t program = 0;
  ASSERT_EQ(std::sscanf(said.c_str(), "stopping %d", &program), 1) << said;
  ASSERT_TRUE(stays_stopped(program, 200ms, 20s))
      << "the program did not stay stopped (state '" << state_of(program) << "')";
  kill(program, SIGCONT);
  int status = ftsc.wait(20s);
  ASSERT_NE(status, -1) << "the stopped program was never continued";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  read_until(out.read_end(), said, "", Clock::now() + 5s);
  EXPECT_TRUE(contains(said, "continued\n")) << said;
}

// A program that once tried PTRACE_TRACEME (and failed: ftsc traces it) and
// is later stopped by someone else is under job control, not stopping for a
// tracer: the run goes on.
TEST_P(Robustness, JobControlAfterAFailedTracemeIsJustJobControl) {
  Pipe out;
  Child ftsc(ftsc_argv({"--retry", "openat=ENOENT", "--", prog("traceme_job_control")}),
             {.out = out.write_end()});
  out.close_write();
  std::string said;
  ASSERT_TRUE(read_until(out.read_end(), said, "\n", Clock::now() + 20s))
      << "the program did not start: " << said;
  pid_t program = 0;
  ASSERT_EQ(std::sscanf(said.c_str(), "ready %d", &program), 1) << said;
  kill(program, SIGSTOP);
  ASSERT_TRUE(stays_stopped(program, 200ms, 20s))
      << "the program did not stay stopped (state '" << state_of(program) << "')";
  kill(program, SIGCONT);
  int status = ftsc.wait(20s);
  ASSERT_NE(status, -1) << "the program was never continued";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  read_until(out.read_end(), said, "", Clock::now() + 5s);
  EXPECT_TRUE(contains(said, "continued\n")) << said;
}

TEST_P(Robustness, DryRunCountsButNeverRetries) {
  TempDir dir;
  std::string metrics = dir.path() + "/m.prom";
  ProcessResult r =
      run_ftsc(run_args({"--dry-run", "--retry", "openat=ENOENT", "--backoff", "1s,1s,1s",
                         "--metrics", metrics, "--", "cat", dir.path() + "/missing"}));
  EXPECT_EQ(r.exit_code, 1);  // cat's own failure, at once
  std::ifstream in(metrics);
  std::string prom((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string labels = "{engine=\"" + std::string(GetParam()) +
                             "\",command=\"cat\",syscall=\"openat\",errno=\"ENOENT\"}";
  EXPECT_TRUE(contains(prom, "ftsc_would_retry_calls_total" + labels + " 1")) << prom;
  EXPECT_TRUE(contains(prom, "ftsc_retries_total" + labels + " 0")) << prom;
}

// The engines with the ptrace supervisor between the shell and the program
// (auto is ptrace with the preload fast path); preload_test.cc covers the
// preload engine's launcher.
INSTANTIATE_TEST_SUITE_P(Engines, Robustness, ::testing::Values("ptrace", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

}  // namespace
}  // namespace ftsc::test
