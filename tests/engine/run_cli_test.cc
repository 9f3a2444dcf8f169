// `ftsc run` as a user runs it: exit statuses, standard streams, errors, and
// the one-layer rule. Retries themselves are exercised by tests/scenarios.
#include <gtest/gtest.h>

#include <string>

#include "cli/run_ftsc.h"

namespace ftsc::test {
namespace {

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

TEST(RunCli, PassesExitStatusThrough) {
  EXPECT_EQ(run_ftsc({"run", "--", "true"}).exit_code, 0);
  EXPECT_EQ(run_ftsc({"run", "--", "sh", "-c", "exit 7"}).exit_code, 7);
  EXPECT_EQ(run_ftsc({"run", "--retry", "openat=ENOENT", "--", "sh", "-c", "exit 42"}).exit_code,
            42);
}

TEST(RunCli, DiesByTheCommandsSignal) {
  // ftsc re-raises the signal, so its parent sees the same death as a shell would.
  ProcessResult r = run_ftsc({"run", "--", "sh", "-c", "kill -TERM $$"});
  EXPECT_EQ(r.exit_code, 128 + 15);
  ProcessResult k =
      run_ftsc({"run", "--retry", "openat=ENOENT", "--", "sh", "-c", "kill -KILL $$"});
  EXPECT_EQ(k.exit_code, 128 + 9);
}

TEST(RunCli, StandardStreamsAreTheCommands) {
  ProcessResult r = run_ftsc(
      {"run", "--retry", "read=EIO", "--", "sh", "-c", "cat; echo to-stderr >&2"}, "from-stdin\n");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "from-stdin\n");
  EXPECT_EQ(r.err, "to-stderr\n");
}

TEST(RunCli, CommandThatCannotBeExecuted) {
  ProcessResult r = run_ftsc({"run", "--", "/nonexistent/program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_TRUE(contains(r.err, "ftsc: cannot execute '/nonexistent/program': No such file"))
      << r.err;
  ProcessResult p = run_ftsc({"run", "--", "no-such-command-in-path"});
  EXPECT_EQ(p.exit_code, 127);
}

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

TEST(RunCli, OneLayerWhenNested) {
  ProcessResult r = run_ftsc({"run", "--retry", "openat=ENOENT", "--", FTSC_BINARY, "run",
                              "--retry", "openat=ENOENT", "--", "sh", "-c", "exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_TRUE(contains(r.err, "already running under ftsc")) << r.err;
}

TEST(RunCli, VerboseAlwaysPrintsTheSummary) {
  ProcessResult r = run_ftsc({"run", "-v", "--retry", "openat=ENOENT", "--", "true"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.err, "ftsc: no intercepted system call failed")) << r.err;
  EXPECT_TRUE(contains(r.err, "openat(-100, ")) << r.err;  // the loader's opens, logged
  ProcessResult quiet = run_ftsc({"run", "--retry", "openat=ENOENT", "--", "true"});
  EXPECT_EQ(quiet.err, "");
}

}  // namespace
}  // namespace ftsc::test
