// SPDX-License-Identifier: Apache-2.0
//
// ftsc run as a systemd service's ExecStart, without systemd as PID 1: what
// systemd hands a service through its environment reaches the command that
// ftsc forks, under every userspace engine.
//
// Socket activation: systemd-socket-activate(1) (Debian's systemd package)
// listens on a Unix socket and, at the first connection, execs
// `ftsc run -- socket_activated` with LISTEN_PID naming ftsc, LISTEN_FDS=1
// and LISTEN_FDNAMES; the server (progs/socket_activated.c) takes fd 3 only
// when LISTEN_PID is its own pid, as sd_listen_fds(3) does, checks that the
// fd survived the exec and that no other socket is open, and serves the
// client. Type=notify and the watchdog: NOTIFY_SOCKET, WATCHDOG_USEC and
// WATCHDOG_PID (naming ftsc) are given to ftsc, and the command
// (progs/sd_notify.c) must see the watchdog meant for it and send its
// datagrams itself, which a socket of the test receives with the sender's
// credentials (SO_PASSCRED): the sender is the command, not ftsc, which is
// why the unit needs NotifyAccess=all (docs/systemd.md). The unit
// dist/systemd/ftsc-kmod.service is checked with `systemd-analyze verify`.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "cli/run_ftsc.h"
#include "engine/engine_support.h"
#include "support/capabilities.h"

namespace ftsc::test {
namespace {

using namespace std::chrono_literals;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  return addr;
}

struct Served {
  std::string reply;  // what the server wrote to its client
  int exit_code = -1;
  std::string err;  // the standard error of systemd-socket-activate and what it ran
};

// Starts `systemd-socket-activate -l SOCKET --fdname=web COMMAND...`, connects
// to SOCKET as a client once it listens, and reads the reply until the server
// closes the connection; then waits for the activator's end.
Served serve_one_client(const std::vector<std::string>& command) {
  TempDir dir;
  const std::string socket_path = dir.path() + "/app.sock";
  const std::string err_path = dir.path() + "/err";
  std::vector<std::string> argv = {find_program("systemd-socket-activate"), "-l", socket_path,
                                   "--fdname=web"};
  argv.insert(argv.end(), command.begin(), command.end());
  std::vector<char*> args;
  for (std::string& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  Served served;
  const pid_t pid = fork();
  if (pid < 0) {
    served.err = "fork failed";
    return served;
  }
  if (pid == 0) {
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    dup2(null, 0);
    dup2(null, 1);
    dup2(err, 2);
    // Variables of the test's own activation, if any, would be passed on.
    for (const char* var : {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "WATCHDOG_PID",
                            "WATCHDOG_USEC", "NOTIFY_SOCKET"})
      unsetenv(var);
    execv(args[0], args.data());
    _exit(127);
  }
  int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const sockaddr_un addr = unix_address(socket_path);
  bool connected = false;
  for (auto end = std::chrono::steady_clock::now() + 10s;
       !connected && std::chrono::steady_clock::now() < end;) {
    connected = connect(client, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    if (!connected)
      std::this_thread::sleep_for(10ms);
  }
  if (connected) {
    // The server writes once and closes; 20 s is far more than any engine's start.
    char buf[512];
    for (auto end = std::chrono::steady_clock::now() + 20s;
         std::chrono::steady_clock::now() < end;) {
      pollfd p{client, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0)
        continue;
      ssize_t n = read(client, buf, sizeof buf);
      if (n <= 0)
        break;
      served.reply.append(buf, static_cast<size_t>(n));
    }
  }
  close(client);
  int status = 0;
  for (auto end = std::chrono::steady_clock::now() + 20s;;) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid)
      break;
    if (std::chrono::steady_clock::now() >= end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  served.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  served.err = read_file(err_path);
  if (!connected)
    served.err += "(the test could not connect to " + socket_path + ")";
  return served;
}

// "served by PID fds 1 names web\n" -> PID; -1 when the reply is not that.
long served_by(const std::string& reply) {
  std::smatch m;
  static const std::regex served("served by ([0-9]+) fds 1 names web\n");
  return std::regex_match(reply, m, served) ? std::stol(m[1]) : -1;
}

TEST(SystemdServiceNative, TheServerIsServedWithoutFtsc) {
  // The server and the activator, as the tests below use them, agree without ftsc.
  if (std::string why = socket_activate_missing(); !why.empty())
    GTEST_SKIP() << why;
  Served s = serve_one_client({prog("socket_activated")});
  EXPECT_EQ(s.exit_code, 0) << s.err;
  EXPECT_GT(served_by(s.reply), 0) << s.reply << s.err;
}

class SystemdService : public LeftoverCheckedEngineTest {};

TEST_P(SystemdService, SocketActivationReachesTheCommand) {
  if (std::string why = socket_activate_missing(); !why.empty())
    GTEST_SKIP() << why;
  Served s = serve_one_client({FTSC_BINARY, "run", "--engine", GetParam(), "--retry",
                               "accept,accept4=ECONNABORTED", "--", prog("socket_activated")});
  EXPECT_EQ(s.exit_code, 0) << s.err;
  // LISTEN_PID was ftsc's pid; the server took the socket, so it named the server.
  EXPECT_GT(served_by(s.reply), 0) << "reply: '" << s.reply << "'\n" << s.err;
  EXPECT_FALSE(contains(s.err, "socket_activated:")) << s.err;
}

// Runs sd_notify under ftsc with the variables systemd gives a Type=notify
// service with a watchdog: WATCHDOG_PID (and, with `listen`, LISTEN_PID)
// naming ftsc's pid, unless `other_pid` names another. Returns ftsc's pid
// and what sd_notify printed.
struct NotifyRun {
  ProcessResult result;
  std::string ftsc_pid;
  std::string printed;  // sd_notify's line
};

NotifyRun run_sd_notify(const char* engine, const std::string& notify_socket,
                        const std::string& other_pid = {}) {
  const std::string pid = other_pid.empty() ? "$$" : other_pid;
  // The shell execs ftsc, so $$ is ftsc's pid, as systemd's MAINPID would be.
  const std::string script = "echo $$; NOTIFY_SOCKET=" + notify_socket +
                             " WATCHDOG_USEC=30000000 " + "WATCHDOG_PID=" + pid +
                             " LISTEN_PID=" + pid + " LISTEN_FDS=0 exec \"$0\" \"$@\"";
  NotifyRun run;
  run.result = run_process(
      {"sh", "-c", script, FTSC_BINARY, "run", "--engine", engine, "--", prog("sd_notify")});
  std::istringstream lines(run.result.out);
  std::getline(lines, run.ftsc_pid);
  std::getline(lines, run.printed);
  return run;
}

// A datagram received on the notification socket and who sent it.
struct Notification {
  std::string text;
  pid_t sender = 0;
};

std::vector<Notification> received(int fd) {
  std::vector<Notification> all;
  for (;;) {
    char buf[512];
    iovec iov{buf, sizeof buf};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0)
      return all;
    Notification note{std::string(buf, static_cast<size_t>(n)), 0};
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
        ucred cred{};
        std::memcpy(&cred, CMSG_DATA(c), sizeof cred);
        note.sender = cred.pid;
      }
    all.push_back(note);
  }
}

TEST_P(SystemdService, NotifyAndWatchdogComeFromTheCommand) {
  TempDir dir;
  const std::string socket_path = dir.path() + "/notify";
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  const int on = 1;
  ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
  const sockaddr_un addr = unix_address(socket_path);
  ASSERT_EQ(bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0) << strerror(errno);

  NotifyRun run = run_sd_notify(GetParam(), socket_path);
  std::vector<Notification> notes = received(fd);
  close(fd);
  ASSERT_EQ(run.result.exit_code, 0) << run.result.err;
  // The command sees the watchdog meant for it: both variables name its pid.
  std::smatch m;
  const std::string printed = run.printed;
  ASSERT_TRUE(std::regex_match(
      printed, m, std::regex("pid ([0-9]+) listen_pid ([0-9]+) watchdog_pid ([0-9]+) watchdog 1")))
      << run.result.out << run.result.err;
  const std::string command_pid = m[1];
  EXPECT_EQ(m[2], command_pid);
  EXPECT_EQ(m[3], command_pid);
  EXPECT_NE(command_pid, run.ftsc_pid) << "ftsc forks: the command has a pid of its own";
  // Its datagrams reach the socket from its own pid: NotifyAccess=main would
  // drop them, since the main pid is ftsc's.
  ASSERT_EQ(notes.size(), 2u) << run.result.err;
  EXPECT_EQ(notes[0].text, "READY=1\nSTATUS=serving as " + command_pid);
  EXPECT_EQ(notes[1].text, "WATCHDOG=1");
  for (const Notification& note : notes)
    EXPECT_EQ(std::to_string(note.sender), command_pid) << note.text;
}

TEST_P(SystemdService, VariablesForAnotherProcessAreLeftAlone) {
  // A LISTEN_PID or WATCHDOG_PID that does not name ftsc was not meant for
  // it, nor for its command: they pass unchanged, and the command ignores them.
  NotifyRun run = run_sd_notify(GetParam(), "/nonexistent/notify", "1");
  ASSERT_EQ(run.result.exit_code, 2) << "the datagram to a missing socket fails\n"
                                     << run.result.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_match(run.printed, m,
                               std::regex("pid ([0-9]+) listen_pid 1 watchdog_pid 1 watchdog 0")))
      << run.result.out << run.result.err;
}

INSTANTIATE_TEST_SUITE_P(Engines, SystemdService, ::testing::Values("ptrace", "preload", "auto"),
                         [](const ::testing::TestParamInfo<const char*>& engine) {
                           return std::string(engine.param);
                         });

TEST(SystemdUnit, KmodServiceVerifies) {
  // The unit as installed, with /usr/bin/ftsc replaced by the binary under
  // test: systemd-analyze checks its keys, dependencies and that its
  // commands are executables (not that the man pages it names are
  // installed: they come with ftsc's package).
  if (std::string why = systemd_analyze_missing(); !why.empty())
    GTEST_SKIP() << why;
  const std::string unit =
      read_file(std::string(FTSC_SOURCE_DIR) + "/dist/systemd/ftsc-kmod.service");
  ASSERT_FALSE(unit.empty());
  TempDir dir;
  const std::string tested = dir.write(
      "ftsc-kmod.service", std::regex_replace(unit, std::regex("/usr/bin/ftsc"), FTSC_BINARY));
  ProcessResult r = run_process({"systemd-analyze", "verify", "--man=no", tested});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out + r.err, "") << "systemd-analyze has a remark";
  // Its commands are verbs and options of this ftsc.
  for (const char* key : {"ExecStart=", "ExecStop="}) {
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(unit, m, std::regex(std::string("\n") + key + "/usr/bin/ftsc ([^\n]*)")))
        << key;
    std::istringstream words(m[1].str());
    std::vector<std::string> verb;
    std::vector<std::string> options;
    for (std::string w; words >> w;) {
      if (w.rfind("--", 0) == 0)
        options.push_back(w);
      else if (verb.size() < 2)
        verb.push_back(w);
    }
    ASSERT_EQ(verb.size(), 2u) << key;
    ProcessResult help = run_ftsc({verb[0], verb[1], "--help"});
    EXPECT_EQ(help.exit_code, 0) << key << help.err;
    for (const std::string& option : options)
      EXPECT_TRUE(contains(help.out, option)) << key << " uses " << option << "\n" << help.out;
  }
}

}  // namespace
}  // namespace ftsc::test
