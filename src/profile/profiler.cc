#include "profile/profiler.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/duration.h"
#include "profile/bpf_collector.h"
#include "profile/ptrace_collector.h"
#include "profile/signals.h"

namespace ftsc::profile {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string utc_now() {
  time_t now = time(nullptr);
  struct tm tm {};
  gmtime_r(&now, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

core::Error os_error(const std::string& what, int err) {
  return core::Error{fmt::format("{}: {}", what, std::strerror(err)), {}, {}};
}

void notice(const Options& o, const std::string& message) {
  if (o.on_notice)
    o.on_notice(message);
}

// The command with eBPF: the child waits until the collector knows it, then
// executes; ftsc becomes a subreaper so that it can wait for every
// descendant, orphans included.
core::Result<CommandProfile> run_with_bpf(BpfCollector& bpf, const std::string& path,
                                          const std::vector<std::string>& argv,
                                          const Options& options) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int go[2], err_pipe[2];
  if (pipe2(go, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
    return os_error("cannot create a pipe", errno);
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  SignalScope signals(options.on_tick ? options.tick : std::chrono::milliseconds(0));
  Clock::time_point start = Clock::now();
  std::string started = utc_now();
  pid_t pid = fork();
  if (pid < 0)
    return os_error("cannot fork", errno);
  if (pid == 0) {
    close(go[1]);
    close(err_pipe[0]);
    char c = 0;
    ssize_t n;
    do {
      n = read(go[0], &c, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1)
      _exit(125);
    execv(path.c_str(), args.data());
    int err = errno;
    ssize_t ignored = write(err_pipe[1], &err, sizeof err);
    (void)ignored;
    _exit(127);
  }
  close(go[0]);
  close(err_pipe[1]);
  bpf.add_process(pid, /*until_exec=*/true);
  ssize_t ignored = write(go[1], "g", 1);
  (void)ignored;
  close(go[1]);
  signals.forward_to(pid);

  int main_status = 0;
  bool main_done = false;
  bool interrupted = false;
  for (;;) {
    if (signals.take_tick() && options.on_tick)
      options.on_tick(bpf.read(), seconds_since(start));
    if (main_done && signals.stop_requested()) {
      interrupted = true;  // stop waiting for descendants that outlive the command
      break;
    }
    int status = 0;
    pid_t done = waitpid(-1, &status, 0);
    if (done < 0) {
      if (errno == EINTR)
        continue;
      break;  // ECHILD: the command and every descendant have ended
    }
    if (done == pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
      main_done = true;
      main_status = status;
      signals.forward_to(0);
    }
  }
  CommandProfile out;
  int exec_err = 0;
  if (read(err_pipe[0], &exec_err, sizeof exec_err) == sizeof exec_err) {
    out.exec_failed = true;
    out.profile.exit_status = core::exec_failure(exec_err).exit_code;
  } else {
    out.profile.exit_status = core::outcome_of_status(main_status).exit_code;
  }
  close(err_pipe[0]);
  out.profile.counts = bpf.read();
  out.profile.duration_s = seconds_since(start);
  out.profile.started = started;
  out.profile.interrupted = interrupted || signals.stop_requested();
  return out;
}

core::Result<CommandProfile> run_with_ptrace(const std::string& path,
                                             const std::vector<std::string>& argv,
                                             const Options& options) {
  PtraceCollector collector;
  SignalScope signals(options.on_tick ? options.tick : std::chrono::milliseconds(0));
  Clock::time_point start = Clock::now();
  std::string started = utc_now();
  auto pid = collector.start(path, argv);
  if (!pid)
    return pid.error();
  core::RunOutcome outcome = collector.wait(signals, [&] {
    if (options.on_tick)
      options.on_tick(collector.read(), seconds_since(start));
  });
  CommandProfile out;
  out.exec_failed = outcome.exec_failed;
  out.profile.exit_status = outcome.exit_code;
  out.profile.counts = collector.read();
  out.profile.duration_s = seconds_since(start);
  out.profile.started = started;
  out.profile.interrupted = signals.stop_requested();
  return out;
}

// The mount point of the cgroup v2 hierarchy, from /proc/self/mountinfo.
std::string cgroup2_mount() {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos || line.compare(dash + 3, 8, "cgroup2 ") != 0)
      continue;
    std::istringstream fields(line.substr(0, dash));
    std::string id, parent, devno, root, mount_point;
    fields >> id >> parent >> devno >> root >> mount_point;
    return mount_point;
  }
  return {};
}

}  // namespace

core::Result<std::string> find_executable(const std::string& name) {
  auto check = [](const std::string& path) -> int {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0)
      return errno;
    if (S_ISDIR(st.st_mode))
      return EACCES;
    return access(path.c_str(), X_OK) == 0 ? 0 : errno;
  };
  if (name.empty())
    return core::Error{"no command given", {}, "give it after --"};
  if (name.find('/') != std::string::npos) {
    if (int err = check(name); err != 0)
      return core::Error{fmt::format("cannot execute '{}': {}", name, std::strerror(err)), {}, {}};
    return name;
  }
  const char* env = getenv("PATH");
  std::string path_list = env && *env ? env : "/usr/local/bin:/usr/bin:/bin";
  int first_err = ENOENT;
  size_t begin = 0;
  while (begin <= path_list.size()) {
    size_t end = path_list.find(':', begin);
    if (end == std::string::npos)
      end = path_list.size();
    std::string dir = path_list.substr(begin, end - begin);
    std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    int err = check(candidate);
    if (err == 0)
      return candidate;
    if (err == EACCES)
      first_err = EACCES;
    begin = end + 1;
  }
  return core::Error{
      fmt::format("cannot execute '{}': {}", name,
                  first_err == ENOENT ? "not found in PATH" : std::strerror(first_err)),
      {},
      {}};
}

core::Result<CommandProfile> profile_command(const std::vector<std::string>& argv,
                                             const Options& options) {
  auto path = find_executable(argv.empty() ? std::string() : argv[0]);
  if (!path)
    return path.error();
  core::Result<CommandProfile> result = core::Error{};
  std::string tracer = "ptrace";
  if (options.tracer != Tracer::kPtrace) {
    auto bpf = BpfCollector::open({BpfTarget::Kind::kProcesses, {}, {}});
    if (bpf) {
      tracer = "ebpf";
      result = run_with_bpf(**bpf, *path, argv, options);
    } else if (options.tracer == Tracer::kEbpf) {
      return bpf.error();
    } else {
      const core::Error& e = bpf.error();
      notice(options, fmt::format("{}{}; profiling with ptrace instead, which is slower and sees "
                                  "only this command and its descendants",
                                  e.message, e.hint.empty() ? "" : " (" + e.hint + ")"));
    }
  }
  if (tracer == "ptrace")
    result = run_with_ptrace(*path, argv, options);
  if (!result)
    return result;
  result->profile.tracer = tracer;
  result->profile.scope = "command";
  result->profile.command = argv;
  return result;
}

core::Result<core::Profile> profile_system(const SystemTarget& target, const Options& options) {
  BpfTarget bt;
  core::Profile p;
  p.tracer = "ebpf";
  p.scope = "system";
  if (!target.cgroup.empty()) {
    bt.kind = BpfTarget::Kind::kCgroup;
    bt.cgroup = target.cgroup;
    if (bt.cgroup[0] != '/') {
      std::string mount = cgroup2_mount();
      if (mount.empty())
        return core::Error{"no cgroup v2 hierarchy is mounted",
                           {},
                           "mount one (mount -t cgroup2 none /sys/fs/cgroup) or give a full path"};
      bt.cgroup = mount + "/" + bt.cgroup;
    }
    p.filter = "cgroup " + bt.cgroup;
  } else if (target.pid) {
    if (kill(*target.pid, 0) != 0 && errno == ESRCH)
      return core::Error{fmt::format("no process {}", *target.pid), {}, "check the pid"};
    bt.kind = BpfTarget::Kind::kProcesses;
    p.filter = fmt::format("pid {}", *target.pid);
  } else if (!target.comm.empty()) {
    bt.kind = BpfTarget::Kind::kComm;
    bt.comm = target.comm;
    p.filter = "comm " + target.comm;
  }
  auto bpf = BpfCollector::open(bt);
  if (!bpf)
    return bpf.error();
  if (target.pid)
    (*bpf)->add_process(*target.pid, /*until_exec=*/false);
  notice(options, fmt::format("profiling {} {}", p.filter.empty() ? "the whole system" : p.filter,
                              target.duration ? "for " + core::format_duration(*target.duration)
                                              : std::string("until Ctrl-C")));

  SignalScope signals(std::chrono::milliseconds(0));
  Clock::time_point start = Clock::now();
  p.started = utc_now();
  Clock::time_point next_tick = start + options.tick;
  for (;;) {
    if (signals.stop_requested()) {
      p.interrupted = true;
      break;
    }
    Clock::time_point now = Clock::now();
    if (target.duration && now - start >= *target.duration)
      break;
    if (options.on_tick && now >= next_tick) {
      options.on_tick((*bpf)->read(), seconds_since(start));
      next_tick += options.tick;
    }
    auto wait = std::chrono::milliseconds(100);
    if (target.duration) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          start + *target.duration - now + std::chrono::milliseconds(1));
      wait = std::min(wait, left);
    }
    poll(nullptr, 0, static_cast<int>(std::max<int64_t>(wait.count(), 1)));
  }
  p.counts = (*bpf)->read();
  p.duration_s = seconds_since(start);
  return p;
}

}  // namespace ftsc::profile
