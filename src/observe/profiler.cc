// SPDX-License-Identifier: Apache-2.0
#include "observe/profiler.h"

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

#include "base/duration.h"
#include "launch/spawn.h"
#include "observe/bpf_collector.h"
#include "observe/ptrace_collector.h"
#include "observe/signals.h"

namespace ftsc::observe {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void notice(const Options& o, const std::string& message) {
  if (o.on_notice)
    o.on_notice(message);
}

// The command with eBPF: the child waits until the collector knows it, then
// executes; ftsc becomes a subreaper so that it can wait for every
// descendant, orphans included.
base::Result<CommandProfile> run_with_bpf(BpfCollector& bpf, const std::vector<std::string>& argv,
                                          const Options& options) {
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  SignalScope signals(options.on_tick ? options.tick : std::chrono::milliseconds(0));
  Clock::time_point start = Clock::now();
  std::string started = base::utc_now();
  launch::SpawnOptions spawn;
  spawn.argv = argv;
  spawn.hold = launch::SpawnOptions::Hold::kUntilReleased;
  auto command = launch::Command::start(spawn);
  if (!command)
    return command.error();
  const pid_t pid = command->pid();
  bpf.add_process(pid, /*until_exec=*/true);
  command->release();
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
  if (const launch::ExecReport report = command->exec_report(); report.exec_errno != 0) {
    out.exec_failed = true;
    out.profile.exit_status = launch::exec_failure(report.exec_errno).exit_code;
  } else {
    out.profile.exit_status = launch::outcome_of_status(main_status).exit_code;
  }
  out.profile.counts = bpf.read();
  out.profile.duration_s = seconds_since(start);
  out.profile.started = started;
  out.profile.interrupted = interrupted || signals.stop_requested();
  return out;
}

base::Result<CommandProfile> run_with_ptrace(const std::vector<std::string>& argv,
                                             const Options& options) {
  PtraceCollector collector;
  SignalScope signals(options.on_tick ? options.tick : std::chrono::milliseconds(0));
  Clock::time_point start = Clock::now();
  std::string started = base::utc_now();
  if (auto started_ok = collector.start(argv); !started_ok)
    return started_ok.error();
  launch::RunOutcome outcome = collector.wait(signals, [&] {
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

base::Result<CommandProfile> profile_command(const std::vector<std::string>& argv,
                                             const Options& options) {
  if (auto path = launch::find_program(argv.empty() ? std::string() : argv[0]); !path)
    return path.error();
  base::Result<CommandProfile> result = base::Error{};
  std::string tracer = "ptrace";
  if (options.tracer != Tracer::kPtrace) {
    auto bpf = BpfCollector::open({BpfTarget::Kind::kProcesses, {}, {}});
    if (bpf) {
      tracer = "ebpf";
      result = run_with_bpf(**bpf, argv, options);
    } else if (options.tracer == Tracer::kEbpf) {
      return bpf.error();
    } else {
      const base::Error& e = bpf.error();
      notice(options, fmt::format("{}{}; profiling with ptrace instead, which is slower and sees "
                                  "only this command and its descendants",
                                  e.message, e.hint.empty() ? "" : " (" + e.hint + ")"));
    }
  }
  if (tracer == "ptrace")
    result = run_with_ptrace(argv, options);
  if (!result)
    return result;
  result->profile.tracer = tracer;
  result->profile.scope = "command";
  result->profile.command = argv;
  return result;
}

base::Result<profile::Profile> profile_system(const SystemTarget& target, const Options& options) {
  BpfTarget bt;
  profile::Profile p;
  p.tracer = "ebpf";
  p.scope = "system";
  if (!target.cgroup.empty()) {
    bt.kind = BpfTarget::Kind::kCgroup;
    bt.cgroup = target.cgroup;
    if (bt.cgroup[0] != '/') {
      std::string mount = cgroup2_mount();
      if (mount.empty())
        return base::Error{"no cgroup v2 hierarchy is mounted",
                           {},
                           "mount one (mount -t cgroup2 none /sys/fs/cgroup) or give a full path"};
      bt.cgroup = mount + "/" + bt.cgroup;
    }
    p.filter = "cgroup " + bt.cgroup;
  } else if (target.pid) {
    if (kill(*target.pid, 0) != 0 && errno == ESRCH)
      return base::Error{fmt::format("no process {}", *target.pid), {}, "check the pid"};
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
  // Ctrl-C is caught before the notice says it may be pressed.
  SignalScope signals(std::chrono::milliseconds(0));
  notice(options, fmt::format("profiling {} {}", p.filter.empty() ? "the whole system" : p.filter,
                              target.duration ? "for " + base::format_duration(*target.duration)
                                              : std::string("until Ctrl-C")));

  Clock::time_point start = Clock::now();
  p.started = base::utc_now();
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

}  // namespace ftsc::observe
