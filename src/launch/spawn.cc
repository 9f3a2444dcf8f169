// SPDX-License-Identifier: Apache-2.0
#include "launch/spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "launch/environment.h"
#include "launch/signal_forwarding.h"

extern char** environ;

namespace ftsc::launch {
namespace {

// 0 when path is a regular file this process may execute, else the errno an
// exec of it would meet.
int executable(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    return errno;
  if (!S_ISREG(st.st_mode))
    return EACCES;
  return access(path.c_str(), X_OK) == 0 ? 0 : errno;
}

std::string default_path() {
  char buf[256] = {};
  size_t n = confstr(_CS_PATH, buf, sizeof buf);
  return n > 0 && n <= sizeof buf ? std::string(buf) : std::string("/bin:/usr/bin");
}

// Does the file start like a binary (ELF, or a NUL before the first line
// break, as a shell checks before it runs a file with sh)? Async-signal-safe.
bool looks_binary(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char head[128];
  ssize_t n = read(fd, head, sizeof head);
  close(fd);
  if (n >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F')
    return true;
  for (ssize_t i = 0; i < n && head[i] != '\n'; ++i)
    if (head[i] == '\0')
      return true;
  return false;
}

void write_code(int fd, int code) {
  ssize_t ignored = write(fd, &code, sizeof code);
  (void)ignored;
}

}  // namespace

base::Result<std::string> find_program(const std::string& name) {
  if (name.empty())
    return base::Error{"no command given", {}, "give it after --"};
  if (name.find('/') != std::string::npos) {
    if (int err = executable(name); err != 0)
      return base::system_error(fmt::format("cannot execute '{}'", name), err);
    return name;
  }
  const char* env = getenv("PATH");
  const std::string path_list = env != nullptr ? env : default_path();
  std::string_view rest = path_list;
  int first_err = ENOENT;
  for (;;) {
    const size_t colon = rest.find(':');
    const std::string dir(rest.substr(0, colon));
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    const int err = executable(candidate);
    if (err == 0)
      return candidate;
    if (err == EACCES)
      first_err = EACCES;
    if (colon == std::string_view::npos)
      break;
    rest.remove_prefix(colon + 1);
  }
  return base::Error{
      fmt::format("cannot execute '{}': {}", name,
                  first_err == ENOENT ? "not found in PATH" : std::strerror(first_err)),
      {},
      {}};
}

base::Result<Command> Command::start(const SpawnOptions& options) {
  if (options.argv.empty())
    return base::Error{"no command given", {}, "give it after --"};
  // Everything the child needs, built before fork: a child of a process with
  // threads may not allocate.
  auto found = find_program(options.argv[0]);
  std::string program = found ? *found : options.argv[0];  // else the exec says why
  std::vector<std::string> argv_copy = options.argv;
  std::vector<char*> args;
  for (std::string& a : argv_copy)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::string shell = "/bin/sh";
  std::vector<char*> shell_args = {shell.data(), program.data()};
  for (size_t i = 1; i < argv_copy.size(); ++i)
    shell_args.push_back(argv_copy[i].data());
  shell_args.push_back(nullptr);
  std::vector<std::string> environment = environment_with(environ, options.environment);
  // Socket activation and the watchdog address ftsc by pid; the command is
  // the process they are meant for (launch/environment.h).
  const std::vector<char*> pid_addressed = pid_slots(environment, getpid());
  std::vector<char*> envp = envp_of(environment);

  int exec_pipe[2];
  if (pipe2(exec_pipe, O_CLOEXEC) != 0)
    return base::system_error("cannot create a pipe", errno);
  int release_pipe[2] = {-1, -1};
  if (options.hold == SpawnOptions::Hold::kUntilReleased && pipe2(release_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    close(exec_pipe[0]);
    close(exec_pipe[1]);
    return base::system_error("cannot create a pipe", err);
  }

  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    for (int fd : {exec_pipe[0], exec_pipe[1], release_pipe[0], release_pipe[1]})
      if (fd >= 0)
        close(fd);
    return base::system_error("cannot fork", err);
  }
  if (pid == 0) {
    // The child: async-signal-safe calls only.
    close(exec_pipe[0]);
    if (release_pipe[1] >= 0)
      close(release_pipe[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(127);  // ftsc died before the request took effect: it would never fire
    SignalForwarding::reset_in_child();
    fill_pid_slots(pid_addressed, getpid());
    if (options.hold == SpawnOptions::Hold::kStopped) {
      raise(SIGSTOP);
    } else if (options.hold == SpawnOptions::Hold::kUntilReleased) {
      char c = 0;
      ssize_t n;
      do {
        n = read(release_pipe[0], &c, 1);
      } while (n < 0 && errno == EINTR);
      if (n != 1)
        _exit(125);  // ftsc went away without releasing it
    }
    if (options.before_exec != nullptr) {
      if (int err = options.before_exec(options.before_exec_data); err != 0) {
        write_code(exec_pipe[1], -err);
        _exit(125);
      }
    }
    execve(program.c_str(), args.data(), envp.data());
    int err = errno;
    if (err == ENOEXEC && !looks_binary(program.c_str())) {
      // A script without `#!`: a shell runs it with sh, and so does ftsc.
      execve(shell.c_str(), shell_args.data(), envp.data());
      err = errno;
    }
    write_code(exec_pipe[1], err);
    _exit(err == ENOENT ? 127 : 126);
  }
  close(exec_pipe[1]);
  if (release_pipe[0] >= 0)
    close(release_pipe[0]);
  Command c;
  c.pid_ = pid;
  c.exec_pipe_ = exec_pipe[0];
  c.release_pipe_ = release_pipe[1];
  return c;
}

Command::Command(Command&& o) noexcept {
  *this = std::move(o);
}

Command& Command::operator=(Command&& o) noexcept {
  if (this != &o) {
    std::swap(pid_, o.pid_);
    std::swap(exec_pipe_, o.exec_pipe_);
    std::swap(release_pipe_, o.release_pipe_);
    std::swap(reported_, o.reported_);
    std::swap(report_, o.report_);
  }
  return *this;
}

Command::~Command() {
  for (int fd : {exec_pipe_, release_pipe_})
    if (fd >= 0)
      close(fd);
}

void Command::release() {
  if (release_pipe_ < 0)
    return;
  ssize_t ignored = write(release_pipe_, "g", 1);
  (void)ignored;
  close(release_pipe_);
  release_pipe_ = -1;
}

ExecReport Command::exec_report() {
  if (reported_ || exec_pipe_ < 0)
    return report_;
  int code = 0;
  ssize_t n;
  do {
    n = read(exec_pipe_, &code, sizeof code);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof code) && code != 0) {
    if (code < 0)
      report_.setup_errno = -code;
    else
      report_.exec_errno = code;
  }
  close(exec_pipe_);
  exec_pipe_ = -1;
  reported_ = true;
  return report_;
}

}  // namespace ftsc::launch
