// SPDX-License-Identifier: Apache-2.0
// The preload engine's launcher.
//
// How it works. ftsc writes the compiled policy into a sealed memfd
// (memfd_create(2), F_SEAL_WRITE: no process of the run can change it) and
// creates a second memfd holding an empty statistics table that it maps
// shared. Both stay close-on-exec in ftsc: the command gets no extra file
// descriptor. It reaches them by name instead, /proc/FTSC_PID/fd/N (proc(5):
// opening that link opens the memfd itself), through FTSC_PRELOAD_POLICY and
// FTSC_PRELOAD_STATS, with LD_PRELOAD naming the library; every process of
// the run inherits the environment, maps the policy read-only and the table
// shared, and counts into the same table. With -v a third name,
// FTSC_PRELOAD_LOG, is the write end of a pipe that receives one binary
// record per attempt, which a thread of ftsc prints. ftsc forks, execs the command,
// forwards SIGINT, SIGTERM, SIGHUP and SIGQUIT to it like the ptrace engine,
// and waits until the command and every process it left behind that may
// still count are gone before it reads the table.
//
// Waiting for processes that are not its children. ftsc does not adopt the
// processes the command orphans (a child subreaper would change what they
// see: getppid(), and who reaps them); it finds them through the library
// instead. Every process that loads the library writes a record of itself
// (its pid namespace, its id there, the time) into a fourth memfd,
// FTSC_PRELOAD_PROCESSES, when it starts and in each fork child, and keeps
// the file's first page mapped shared as long as it lives. Once the command
// has ended, ftsc waits until no recorded process runs any more (its
// /proc/PID/stat is gone, a zombie's, or shows a later start: the id was
// reused) and no process maps the file: it then seals the memfd against
// writing (F_SEAL_WRITE, memfd_create(2)), which the kernel refuses with
// EBUSY while a writable shared mapping exists. The mapping covers a fork
// child until it has written its record (it inherits the page), the record
// covers an exec until the new program's library runs (the id survives
// exec). What is left out: a child that vfork() or posix_spawn() made, or a
// raw clone, whose exec comes after every other process of the run has
// ended, may start its program after ftsc read the table; and processes that
// never load the library (static programs, set-user-ID ones) are not waited
// for, since they count nothing.
//
// A fifth memfd, FTSC_PRELOAD_ANALYSES, sparse and writable by every process
// of the run, carries the patcher's analyses of libc and of later libraries
// from the first process that made one to the others (patcher.cc), which
// check every record before they use it.
//
// Limits: a process whose credentials no longer allow it to open ftsc's
// /proc/PID/fd (it changed its uid) or that the loader runs in secure mode
// (set-user-ID, ld.so(8): LD_PRELOAD is then ignored) runs without the
// engine; a program that clears its environment before exec drops it too.
#include "preload/launcher.h"

#include <dirent.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "base/unique_fd.h"
#include "decide/retry_unit.h"
#include "kb/errno_table.h"
#include "kb/syscall_table.h"
#include "launch/environment.h"
#include "launch/outcome.h"
#include "launch/signal_forwarding.h"
#include "launch/spawn.h"
#include "preload/preload_interface.h"
#include "stats/attempt_log.h"

namespace ftsc::preload {
namespace {

std::string proc_fd_path(int fd) {
  return fmt::format("/proc/{}/fd/{}", getpid(), fd);
}

bool write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// "ftsc: [pid 123] openat(-100, 0x7ffd..., ...) = -ENOENT, retry 1/10 in 100ms"
std::string format_record(const ftsc_preload_log& r, const std::string& layer) {
  stats::AttemptLog a;
  a.layer = layer;
  a.tid = r.tid;
  a.nr = r.nr;
  a.arg0 = r.args[0];
  a.arg1 = r.args[1];
  a.result = static_cast<long>(r.result);
  a.decision.action = static_cast<decide::Action>(r.action);
  a.decision.reason = static_cast<decide::Reason>(r.reason);
  a.decision.delay_ns = r.delay_ns;
  a.decision.guard = r.guard;
  a.decision.probe_error = r.probe_error;
  a.retries = r.retries;
  a.n_delays = r.n_delays;
  a.injected = r.injected != 0 && r.result == -r.injected;
  return stats::format_attempt_log(a);
}

// Prints the records that arrive on a pipe until every writer closed it.
class LogRelay {
 public:
  LogRelay(int read_fd, base::LogSink to, std::string layer)
      : thread_([read_fd, to = std::move(to), layer] { relay(read_fd, to, layer); }) {}
  ~LogRelay() { thread_.join(); }
  LogRelay(const LogRelay&) = delete;
  LogRelay& operator=(const LogRelay&) = delete;

 private:
  static void relay(int fd, const base::LogSink& to, const std::string& layer) {
    ftsc_preload_log r;
    for (;;) {
      ssize_t n = read(fd, &r, sizeof r);
      if (n < 0 && errno == EINTR)
        continue;
      if (n != static_cast<ssize_t>(sizeof r))
        return;  // end of the run (or a torn record, which one write(2) never makes)
      if (r.version == FTSC_PRELOAD_LOG_VERSION)
        to(format_record(r, layer));
    }
  }
  std::thread thread_;
};

// The inode of the pid namespace of /proc/PID (PID may be "self"), 0 if unknown.
uint64_t pid_namespace_of(const std::string& pid) {
  struct stat st {};
  return stat(("/proc/" + pid + "/ns/pid").c_str(), &st) == 0 ? st.st_ino : 0;
}

// The processes of pid namespaces other than own_pidns, by (namespace, id
// there), with their ids as ftsc sees them.
std::map<std::pair<uint64_t, uint64_t>, pid_t> foreign_processes(uint64_t own_pidns) {
  std::map<std::pair<uint64_t, uint64_t>, pid_t> found;
  DIR* proc = opendir("/proc");
  if (proc == nullptr)
    return found;
  while (const dirent* entry = readdir(proc)) {
    const std::string name = entry->d_name;
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
      continue;
    const uint64_t ns = pid_namespace_of(name);
    if (ns == 0 || ns == own_pidns)
      continue;
    std::ifstream in("/proc/" + name + "/status");
    const std::string status((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
    const uint64_t pid = ftsc_status_nspid(status.c_str(), 0);
    if (pid != 0)
      found[{ns, pid}] = static_cast<pid_t>(std::stoul(name));
  }
  closedir(proc);
  return found;
}

// Is process pid the one that wrote its record at registered_ns, and still
// running? Not when /proc/PID is gone, shows a zombie (the process ended;
// its parent has not reaped it yet), or started after the record was
// written (the id now names another process).
bool still_running(pid_t pid, int64_t registered_ns) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const size_t paren = stat.rfind(')');  // the command name may hold ')'
  if (paren == std::string::npos)
    return false;
  std::istringstream fields(stat.substr(paren + 1));
  std::string state;
  fields >> state;
  if (state.empty() || state[0] == 'Z' || state[0] == 'X')
    return false;
  std::string field;
  for (int i = 4; i <= 22 && fields >> field; ++i) {  // field 22: the start time, in clock ticks
  }
  if (field.empty() || field.find_first_not_of("0123456789") != std::string::npos)
    return true;  // cannot tell: assume it is
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  const double started_ns = static_cast<double>(std::stoull(field)) * 1e9 /
                            static_cast<double>(ticks_per_second > 0 ? ticks_per_second : 100);
  return started_ns <= static_cast<double>(registered_ns);
}

}  // namespace

struct RunFiles::State {
  std::string library;
  base::LogSink log;
  std::string log_layer;
  base::UniqueFd policy_fd;
  base::UniqueFd stats_fd;
  ftsc_stats* stats = nullptr;
  base::UniqueFd budgets_fd;
  uint64_t* budgets = nullptr;
  base::UniqueFd log_read;
  base::UniqueFd log_write;
  base::UniqueFd processes_fd;
  base::UniqueFd analyses_fd;
  std::unique_ptr<LogRelay> relay;

  ~State() {
    if (stats != nullptr)
      munmap(stats, sizeof(ftsc_stats));
    if (budgets != nullptr)
      munmap(budgets, kBudgetBytes);
  }
  static constexpr size_t kBudgetBytes = FTSC_BUDGET_WORDS * sizeof(uint64_t);
};

base::Result<std::unique_ptr<RunFiles>> RunFiles::create(const ftsc_policy& policy,
                                                         std::string library, base::LogSink log,
                                                         std::string log_layer) {
  std::unique_ptr<RunFiles> files(new RunFiles());
  files->state_ = std::make_unique<State>();
  State& s = *files->state_;
  s.library = std::move(library);
  s.log = std::move(log);
  s.log_layer = std::move(log_layer);
  s.policy_fd = base::UniqueFd(memfd_create("ftsc-policy", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (s.policy_fd.get() < 0)
    return base::system_error("cannot create a memfd for the policy", errno);
  if (!write_all(s.policy_fd.get(), reinterpret_cast<const char*>(&policy), sizeof policy))
    return base::system_error("cannot write the policy to its memfd", errno);
  if (fcntl(s.policy_fd.get(), F_ADD_SEALS,
            F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
    return base::system_error("cannot seal the policy memfd", errno);

  s.stats_fd = base::UniqueFd(memfd_create("ftsc-stats", MFD_CLOEXEC));
  if (s.stats_fd.get() < 0)
    return base::system_error("cannot create a memfd for the statistics", errno);
  if (ftruncate(s.stats_fd.get(), sizeof(ftsc_stats)) != 0)
    return base::system_error("cannot size the statistics memfd", errno);
  void* map =
      mmap(nullptr, sizeof(ftsc_stats), PROT_READ | PROT_WRITE, MAP_SHARED, s.stats_fd.get(), 0);
  if (map == MAP_FAILED)
    return base::system_error("cannot map the statistics memfd", errno);
  s.stats = static_cast<ftsc_stats*>(map);
  ftsc_stats_init(s.stats);

  // Sparse: a page is allocated only where a process's word is written.
  s.budgets_fd = base::UniqueFd(memfd_create("ftsc-budgets", MFD_CLOEXEC));
  if (s.budgets_fd.get() < 0)
    return base::system_error("cannot create a memfd for the retry budgets", errno);
  if (ftruncate(s.budgets_fd.get(), State::kBudgetBytes) != 0)
    return base::system_error("cannot size the retry budgets memfd", errno);
  map =
      mmap(nullptr, State::kBudgetBytes, PROT_READ | PROT_WRITE, MAP_SHARED, s.budgets_fd.get(), 0);
  if (map == MAP_FAILED)
    return base::system_error("cannot map the retry budgets memfd", errno);
  s.budgets = static_cast<uint64_t*>(map);

  // Sparse too; sealable, so that ftsc can tell when nobody maps it any more.
  s.processes_fd = base::UniqueFd(memfd_create("ftsc-processes", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (s.processes_fd.get() < 0)
    return base::system_error("cannot create a memfd for the run's processes", errno);
  if (ftruncate(s.processes_fd.get(), FTSC_PROCESS_REGISTRY_BYTES) != 0)
    return base::system_error("cannot size the run's processes memfd", errno);

  // Sparse as well: the patcher's analyses, shared by the run's processes.
  s.analyses_fd = base::UniqueFd(memfd_create("ftsc-analyses", MFD_CLOEXEC));
  if (s.analyses_fd.get() < 0)
    return base::system_error("cannot create a memfd for the patcher's analyses", errno);
  if (ftruncate(s.analyses_fd.get(), FTSC_ANALYSES_BYTES) != 0)
    return base::system_error("cannot size the patcher's analyses memfd", errno);

  if (s.log) {
    int log_pipe[2];
    if (pipe2(log_pipe, O_CLOEXEC) != 0)
      return base::system_error("cannot create a pipe", errno);
    s.log_read = base::UniqueFd(log_pipe[0]);
    s.log_write = base::UniqueFd(log_pipe[1]);
  }
  return files;
}

RunFiles::~RunFiles() {
  if (state_ != nullptr)
    finish_log();
}

std::vector<std::string> RunFiles::environment(bool under_supervisor) const {
  const char* old_preload = getenv("LD_PRELOAD");
  std::string preload = state_->library;
  if (old_preload != nullptr && *old_preload != '\0')
    preload += std::string(":") + old_preload;
  std::vector<std::string> env = {
      "LD_PRELOAD=" + preload,
      fmt::format("{}={}", FTSC_PRELOAD_POLICY_ENV, proc_fd_path(state_->policy_fd.get())),
      fmt::format("{}={}", FTSC_PRELOAD_STATS_ENV, proc_fd_path(state_->stats_fd.get())),
  };
  env.push_back(
      fmt::format("{}={}", FTSC_PRELOAD_ANALYSES_ENV, proc_fd_path(state_->analyses_fd.get())));
  if (state_->log_write.get() >= 0)
    env.push_back(
        fmt::format("{}={}", FTSC_PRELOAD_LOG_ENV, proc_fd_path(state_->log_write.get())));
  if (!under_supervisor)
    env.push_back(
        fmt::format("{}={}", FTSC_PRELOAD_PROCESSES_ENV, proc_fd_path(state_->processes_fd.get())));
  // The command starts under ftsc's filters, and the supervisor's under auto.
  std::ifstream in("/proc/thread-self/status");
  const std::string status((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const int filters = ftsc_status_seccomp_filters(status.c_str());
  if (filters >= 0)
    env.push_back(
        fmt::format("{}={}", FTSC_PRELOAD_FILTERS_ENV, filters + (under_supervisor ? 1 : 0)));
  if (under_supervisor) {
    env.push_back(fmt::format("{}={}", FTSC_PRELOAD_ENGINE_ENV, FTSC_PRELOAD_ENGINE_AUTO));
    env.push_back(
        fmt::format("{}={}", FTSC_PRELOAD_BUDGETS_ENV, proc_fd_path(state_->budgets_fd.get())));
    struct stat pidns {};
    if (stat("/proc/self/ns/pid", &pidns) == 0)
      env.push_back(fmt::format("{}={}", FTSC_PRELOAD_PIDNS_ENV, pidns.st_ino));
  }
  return env;
}

ftsc_stats& RunFiles::stats() const {
  return *state_->stats;
}

uint64_t* RunFiles::budgets() const {
  return state_->budgets;
}

size_t RunFiles::n_budgets() const {
  return FTSC_BUDGET_WORDS;
}

void RunFiles::wait_for_processes() {
  const int fd = state_->processes_fd.get();
  const uint64_t own_pidns = pid_namespace_of("self");
  struct Running {
    uint64_t pidns;
    uint64_t pid;
    int64_t registered_ns;
  };
  std::vector<Running> running;     // recorded processes not yet seen to end
  std::vector<uint64_t> unwritten;  // records claimed, not yet written
  uint64_t read_up_to = 0;
  auto next_record = [&](uint64_t i) {
    ftsc_process_record r{};
    const off_t at = static_cast<off_t>(FTSC_PROCESS_REGISTRY_HEADER + i * sizeof r);
    if (pread(fd, &r, sizeof r, at) != static_cast<ssize_t>(sizeof r) ||
        r.version != FTSC_PROCESS_RECORD_VERSION)
      return false;
    running.push_back({r.pidns == 0 ? own_pidns : r.pidns, r.pid, r.registered_ns});
    return true;
  };
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    uint64_t claimed = 0;
    if (pread(fd, &claimed, sizeof claimed, 0) != static_cast<ssize_t>(sizeof claimed))
      claimed = read_up_to;
    std::erase_if(unwritten, [&](uint64_t i) { return next_record(i); });
    for (; read_up_to < claimed && read_up_to < FTSC_PROCESS_RECORDS; ++read_up_to)
      if (!next_record(read_up_to))
        unwritten.push_back(read_up_to);
    std::map<std::pair<uint64_t, uint64_t>, pid_t> foreign;
    if (std::any_of(running.begin(), running.end(),
                    [&](const Running& p) { return p.pidns != own_pidns; }))
      foreign = foreign_processes(own_pidns);
    std::erase_if(running, [&](const Running& p) {
      pid_t pid = static_cast<pid_t>(p.pid);
      if (p.pidns != own_pidns) {
        auto it = foreign.find({p.pidns, p.pid});
        if (it == foreign.end())
          return true;
        pid = it->second;
      }
      return !still_running(pid, p.registered_ns);
    });
    // An unwritten record's process maps the file while it writes; one that
    // died before writing is covered by the seal alone.
    if (running.empty()) {
      if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0 || errno != EBUSY)
        return;  // nobody maps the file: no process of the run is left
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(100));
  }
}

void RunFiles::start_log() {
  if (state_->log_read.get() >= 0 && state_->relay == nullptr)
    state_->relay =
        std::make_unique<LogRelay>(state_->log_read.get(), state_->log, state_->log_layer);
}

void RunFiles::finish_log() {
  // Every process of the run is gone: closing ftsc's write end ends the log.
  state_->log_write.reset();
  state_->relay.reset();
}

class Launcher::Impl {
 public:
  Impl(const ftsc_policy& policy, Options options) : policy_(policy), options_(std::move(options)) {
    ftsc_stats_init(&empty_);
  }

  base::Result<void> prepare();
  base::Result<Outcome> run(const std::vector<std::string>& argv);
  const ftsc_stats& stats() const { return files_ != nullptr ? files_->stats() : empty_; }

 private:
  const ftsc_policy& policy_;
  Options options_;
  std::unique_ptr<RunFiles> files_;
  ftsc_stats empty_{};
};

base::Result<void> Launcher::Impl::prepare() {
  if (files_ != nullptr)
    return {};
  auto files = RunFiles::create(policy_, options_.library, options_.log);
  if (!files)
    return files.error();
  files_ = std::move(*files);
  return {};
}

base::Result<Outcome> Launcher::Impl::run(const std::vector<std::string>& argv) {
  if (auto prepared = prepare(); !prepared)
    return prepared.error();

  launch::SpawnOptions spawn;
  spawn.argv = argv;
  spawn.environment = files_->environment(false);
  launch::SignalForwarding forwarding;
  auto command = launch::Command::start(spawn);
  if (!command)
    return command.error();
  const pid_t pid = command->pid();
  forwarding.to(pid);
  files_->start_log();

  bool main_done = false;
  int main_status = 0;
  for (;;) {
    int status = 0;
    pid_t done = waitpid(pid, &status, 0);
    if (done < 0) {
      if (errno == EINTR)
        continue;
      break;
    }
    if (done == pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
      main_done = true;
      main_status = status;
      forwarding.to(0);
      break;
    }
  }
  // The processes the command left behind are not ftsc's children; the end
  // of those that may still count is the end of the run.
  files_->wait_for_processes();
  files_->finish_log();

  if (const launch::ExecReport report = command->exec_report(); report.exec_errno != 0)
    return launch::exec_failure(report.exec_errno);
  if (!main_done)
    return base::Error{"lost track of the command's process", {}, {}};
  return launch::outcome_of_status(main_status);
}

Launcher::Launcher(const ftsc_policy& policy, Options options)
    : impl_(std::make_unique<Impl>(policy, std::move(options))) {}
Launcher::~Launcher() = default;

base::Result<void> Launcher::prepare() {
  return impl_->prepare();
}

base::Result<Outcome> Launcher::run(const std::vector<std::string>& argv) {
  return impl_->run(argv);
}

const ftsc_stats& Launcher::stats() const {
  return impl_->stats();
}

}  // namespace ftsc::preload
