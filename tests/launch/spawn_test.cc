// SPDX-License-Identifier: Apache-2.0
//
// launch::find_program and launch::Command: finding a program as a shell
// does, and starting it with its exec reported, held or not.
#include "launch/spawn.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "support/run_process.h"

namespace ftsc::launch {
namespace {

// Sets PATH (or unsets it, for nullptr) for one scope.
class ScopedPath {
 public:
  explicit ScopedPath(const char* path) {
    if (const char* old = getenv("PATH"))
      old_ = old;
    had_ = getenv("PATH") != nullptr;
    if (path != nullptr)
      setenv("PATH", path, 1);
    else
      unsetenv("PATH");
  }
  ~ScopedPath() {
    if (had_)
      setenv("PATH", old_.c_str(), 1);
    else
      unsetenv("PATH");
  }

 private:
  std::string old_;
  bool had_ = false;
};

int wait_status(pid_t pid) {
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  return status;
}

TEST(FindProgram, AsAShellFindsIt) {
  test::TempDir dir;
  const std::string exe = dir.write("tool", "#!/bin/sh\n");
  std::filesystem::permissions(exe, std::filesystem::perms::owner_all);
  const std::string plain = dir.write("data", "");
  {
    ScopedPath path(("/nonexistent:" + dir.path()).c_str());
    auto found = find_program("tool");
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(*found, dir.path() + "/tool");
    auto missing = find_program("no-such-tool");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().message, "cannot execute 'no-such-tool': not found in PATH");
    // A match that is not executable: EACCES, as execvp(3) reports it.
    auto denied = find_program("data");
    ASSERT_FALSE(denied);
    EXPECT_NE(denied.error().message.find("Permission denied"), std::string::npos)
        << denied.error().message;
  }
  {
    // Without PATH: the system's default path, as execvp(3) uses.
    ScopedPath none(nullptr);
    auto sh = find_program("sh");
    ASSERT_TRUE(sh) << sh.error().message;
    EXPECT_TRUE(*sh == "/bin/sh" || *sh == "/usr/bin/sh") << *sh;
  }
  EXPECT_EQ(*find_program(exe), exe);  // a name with a slash is taken as it is
  EXPECT_FALSE(find_program(""));
}

TEST(Command, ReportsHowTheExecWent) {
  SpawnOptions ok;
  ok.argv = {"true"};
  auto started = Command::start(ok);
  ASSERT_TRUE(started) << started.error().message;
  EXPECT_TRUE(WIFEXITED(wait_status(started->pid())));
  EXPECT_FALSE(started->exec_report().failed());

  SpawnOptions missing;
  missing.argv = {"/nonexistent/program"};
  auto failed = Command::start(missing);
  ASSERT_TRUE(failed);
  const int status = wait_status(failed->pid());
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 127) << status;
  EXPECT_EQ(failed->exec_report().exec_errno, ENOENT);
  EXPECT_EQ(failed->exec_report().exec_errno, ENOENT);  // read once, kept

  SpawnOptions refused;
  refused.argv = {"true"};
  refused.before_exec = [](const void*) { return EPERM; };
  auto setup = Command::start(refused);
  ASSERT_TRUE(setup);
  wait_status(setup->pid());
  const ExecReport report = setup->exec_report();
  EXPECT_EQ(report.setup_errno, EPERM);
  EXPECT_EQ(report.exec_errno, 0);
}

TEST(Command, TheEnvironmentGetsTheAdditions) {
  test::TempDir dir;
  const std::string out = dir.path() + "/env";
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo \"$FTSC_SPAWN_TEST:$HOME\" > \"$0\"", out};
  o.environment = {"FTSC_SPAWN_TEST=added", "HOME=/replaced"};
  auto c = Command::start(o);
  ASSERT_TRUE(c);
  wait_status(c->pid());
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "added:/replaced");
}

TEST(Command, LISTEN_PIDAndWATCHDOG_PIDNamingThisProcessNameTheCommand) {
  // systemd addresses a service's sockets and watchdog to its main process
  // by pid; the command is the process they are meant for.
  test::TempDir dir;
  const std::string out = dir.path() + "/env";
  SpawnOptions o;
  o.argv = {"sh", "-c", "echo \"$$ $LISTEN_PID $WATCHDOG_PID $LISTEN_FDS\" > \"$0\"", out};
  const std::string own = std::to_string(getpid());
  o.environment = {"LISTEN_PID=" + own, "WATCHDOG_PID=" + own, "LISTEN_FDS=0"};
  for (SpawnOptions::Hold hold : {SpawnOptions::Hold::kNone, SpawnOptions::Hold::kUntilReleased}) {
    o.hold = hold;
    auto c = Command::start(o);
    ASSERT_TRUE(c);
    c->release();
    wait_status(c->pid());
    std::ifstream in(out);
    std::string line;
    std::getline(in, line);
    const std::string pid = std::to_string(c->pid());
    EXPECT_EQ(line, pid + " " + pid + " " + pid + " 0");
  }
  // A value naming another process is not for the command to change.
  o.environment = {"LISTEN_PID=1", "WATCHDOG_PID=1"};
  o.hold = SpawnOptions::Hold::kNone;
  auto c = Command::start(o);
  ASSERT_TRUE(c);
  wait_status(c->pid());
  std::ifstream in(out);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, std::to_string(c->pid()) + " 1 1 ");
}

TEST(Command, AHeldCommandWaitsForItsRelease) {
  test::TempDir dir;
  const std::string mark = dir.path() + "/ran";
  SpawnOptions o;
  o.argv = {"touch", mark};
  o.hold = SpawnOptions::Hold::kUntilReleased;
  auto c = Command::start(o);
  ASSERT_TRUE(c);
  usleep(100'000);
  EXPECT_FALSE(std::filesystem::exists(mark)) << "it ran before its release";
  c->release();
  EXPECT_TRUE(WIFEXITED(wait_status(c->pid())));
  EXPECT_TRUE(std::filesystem::exists(mark));

  SpawnOptions stopped;
  stopped.argv = {"true"};
  stopped.hold = SpawnOptions::Hold::kStopped;
  auto s = Command::start(stopped);
  ASSERT_TRUE(s);
  int status = 0;
  ASSERT_EQ(waitpid(s->pid(), &status, WUNTRACED), s->pid());
  EXPECT_TRUE(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP) << status;
  kill(s->pid(), SIGCONT);
  EXPECT_TRUE(WIFEXITED(wait_status(s->pid())));
}

}  // namespace
}  // namespace ftsc::launch
