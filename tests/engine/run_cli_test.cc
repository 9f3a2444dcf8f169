// SPDX-License-Identifier: Apache-2.0
// `ftsc run` as a user runs it: exit statuses, standard streams, errors, and
// the one-layer rule, under each engine with the ptrace supervisor (ptrace,
// auto). Retries themselves are exercised by tests/scenarios.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"

namespace ftsc::test {
namespace {

using namespace std::chrono_literals;

// The parameter is the engine (--engine); no process outlives its test.
class RunCli : public LeftoverCheckedEngineTest {
 protected:
  // `ftsc run --engine <engine>` followed by args.
  ProcessResult run(const std::vector<std::string>& args, const std::string& input = {}) const {
    std::vector<std::string> all{"run", "--engine", GetParam()};
    all.insert(all.end(), args.begin(), args.end());
    return run_ftsc(all, input);
  }
};

TEST_P(RunCli, PassesExitStatusThrough) {
  EXPECT_EQ(run({"--", "true"}).exit_code, 0);
  EXPECT_EQ(run({"--", "sh", "-c", "exit 7"}).exit_code, 7);
  EXPECT_EQ(run({"--retry", "openat=ENOENT", "--", "sh", "-c", "exit 42"}).exit_code, 42);
}

TEST_P(RunCli, DiesByTheCommandsSignal) {
  // ftsc re-raises the signal, so its parent sees the same death as a shell would.
  ProcessResult r = run({"--", "sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(r.exit_code, 128 + 15);
  ProcessResult k = run({"--retry", "openat=ENOENT", "--", "sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(k.exit_code, 128 + 9);
}

TEST_P(RunCli, StandardStreamsAreTheCommands) {
  ProcessResult r =
      run({"--retry", "read=EIO", "--", "sh", "-c", "cat; echo to-stderr >&2"}, "from-stdin\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "from-stdin\n");
  EXPECT_EQ(r.err, "to-stderr\n");
}

TEST_P(RunCli, CommandThatCannotBeExecuted) {
  ProcessResult r = run({"--", "/nonexistent/program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_TRUE(contains(r.err, "ftsc: cannot execute '/nonexistent/program': No such file"))
      << r.err;
  ProcessResult p = run({"--", "no-such-command-in-path"});
  EXPECT_EQ(p.exit_code, 127);
}

// What a shell does with files the kernel will not execute, under every
// engine (suite RunCli: one test that runs each): a script without
// `#!` runs under sh; a binary the kernel refuses (here an ELF for another
// machine; also a 32-bit program where IA32 emulation is off) is "Exec format
// error" and 126, not a shell's syntax error about the binary's bytes.
TEST(RunCli, FilesTheKernelWillNotExecuteAsAShellSeesThem) {
  TempDir dir;
  const std::string script = dir.write("no_shebang", "echo from sh \"$1\"\n");
  // An ELF header for aarch64 (e_machine 183), nothing after it.
  std::string elf(64, '\0');
  elf.replace(0, 7,
              "\x7f"
              "ELF\x02\x01\x01");
  elf[16] = 2;                       // ET_EXEC
  elf[18] = static_cast<char>(183);  // EM_AARCH64
  elf[20] = 1;                       // EV_CURRENT
  elf[52] = 64;                      // e_ehsize
  const std::string foreign = dir.write("foreign_elf", elf);
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  std::filesystem::permissions(foreign, std::filesystem::perms::owner_all);

  ProcessResult native = run_process({"sh", "-c", "\"$0\" x; echo \"status $?\"", foreign});
  if (!contains(native.out, "status 126"))
    GTEST_SKIP() << "this machine runs aarch64 programs (binfmt_misc?): " << native.out
                 << native.err;
  for (const char* engine : {"ptrace", "preload", "auto"}) {
    SCOPED_TRACE(engine);
    ProcessResult refused = run_ftsc({"run", "--engine", engine, "--", foreign});
    EXPECT_EQ(refused.exit_code, 126) << refused.err;
    EXPECT_TRUE(contains(refused.err, "Exec format error")) << refused.err;
    EXPECT_FALSE(contains(refused.err, "Syntax error")) << refused.err;

    ProcessResult scripted = run_ftsc({"run", "--engine", engine, "--", script, "arg"});
    EXPECT_EQ(scripted.exit_code, 0) << scripted.err;
    EXPECT_EQ(scripted.out, "from sh arg\n");
  }
}

// About parsing the command line, the engine option included: no engine
// starts, so it runs once (suite RunCli, not Engines/RunCli).
TEST(RunCli, UsageErrors) {
  EXPECT_EQ(run_ftsc({"run"}).exit_code, 2);
  ProcessResult kmod = run_ftsc({"run", "--engine", "kmod", "--", "true"});
  EXPECT_EQ(kmod.exit_code, 2);
  EXPECT_TRUE(contains(kmod.err, "system-wide: it is not started by `ftsc run`")) << kmod.err;
  EXPECT_EQ(run_ftsc({"run", "--engine", "bogus", "--", "true"}).exit_code, 2);
  ProcessResult bad = run_ftsc({"run", "--retry", "read=EFAULT", "--", "true"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.err, "EFAULT is never retried")) << bad.err;
  ProcessResult missing = run_ftsc({"run", "--policy", "/nonexistent.toml", "--", "true"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.err, "cannot read policy")) << missing.err;
}

// `ftsc run -p PID` cannot attach to a running process: a usage error that
// points to the kernel engine's pid targets, never a program named -p.
TEST(RunCli, AttachingToAPidIsAUsageError) {
  for (std::vector<std::string> args : {std::vector<std::string>{"run", "-p", "1"},
                                        {"run", "--pid", "1"},
                                        {"run", "--pid=1"},
                                        {"run", "-p1"}}) {
    ProcessResult r = run_ftsc(args);
    EXPECT_EQ(r.exit_code, 2) << args[1];
    EXPECT_TRUE(contains(r.err, "cannot attach to a running process")) << r.err;
    EXPECT_TRUE(contains(r.err, "ftsc kmod load")) << r.err;
    EXPECT_FALSE(contains(r.err, "cannot execute")) << r.err;
  }
  ProcessResult unknown = run_ftsc({"run", "--bogus", "true"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(contains(unknown.err, "--bogus: not an option of ftsc run")) << unknown.err;
  // After --, a word that starts with '-' is the command's.
  ProcessResult after = run_ftsc({"run", "--", "-p"});
  EXPECT_EQ(after.exit_code, 127);
  EXPECT_TRUE(contains(after.err, "cannot execute '-p'")) << after.err;
}

TEST_P(RunCli, OneLayerWhenNested) {
  ProcessResult r = run({"--retry", "openat=ENOENT", "--", FTSC_BINARY, "run", "--engine",
                         GetParam(), "--retry", "openat=ENOENT", "--", "sh", "-c", "exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "already running under ftsc")) << r.err;
}

TEST_P(RunCli, VerboseAlwaysPrintsTheSummary) {
  ProcessResult r = run({"-v", "--retry", "openat=ENOENT", "--", "true"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "ftsc: no intercepted system call failed")) << r.err;
  EXPECT_FALSE(contains(r.err, "openat(")) << r.err;  // calls that succeed at once are not logged
  ProcessResult quiet = run({"--retry", "openat=ENOENT", "--", "true"});
  EXPECT_EQ(quiet.err, "");
}

TEST_P(RunCli, VerboseLogsEveryFailedAttempt) {
  ProcessResult r = run({"-v", "--retry", "openat=ENOENT", "--backoff", "1ms,2ms", "--", "cat",
                         "/nonexistent/ftsc-test"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "openat(-100, ")) << r.err;
  EXPECT_TRUE(contains(r.err, "= -ENOENT, retry 1/2 in 1ms")) << r.err;
  EXPECT_TRUE(contains(r.err, "= -ENOENT, retry 2/2 in 2ms")) << r.err;
  EXPECT_TRUE(contains(r.err, "= -ENOENT, schedule_exhausted")) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Engines, RunCli, ::testing::Values("ptrace", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

}  // namespace
}  // namespace ftsc::test
