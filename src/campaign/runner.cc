// SPDX-License-Identifier: Apache-2.0
// The mechanism is described at the top of runner.h.
#include "campaign/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "campaign/classify.h"
#include "campaign/digest.h"
#include "kb/knowledge_base.h"
#include "launch/outcome.h"
#include "observe/profiler.h"
#include "policy/compiler.h"
#include "policy/effective_policy.h"
#include "policy/inject_grammar.h"
#include "policy/source.h"
#include "profile/json.h"
#include "ptrace/supervisor.h"

namespace ftsc::campaign {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

volatile sig_atomic_t g_stop = 0;

void on_stop_signal(int) {
  g_stop = 1;
}

// What a run host tells ftsc through its pipe: one write, smaller than PIPE_BUF.
struct HostReport {
  int32_t setup_failed = 0;  // ftsc could not make the run; message says why
  int32_t exec_failed = 0;
  int32_t signaled = 0;
  int32_t term_signal = 0;
  int32_t exit_code = 0;
  int32_t check = -1;  // -1 no check, 0 passed, else failed
  uint64_t injected = 0;
  char message[400] = {};
};
static_assert(sizeof(HostReport) < PIPE_BUF);

std::string substitute(const std::string& text, const std::string& dir) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "{}") == 0) {
      out += dir;
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

void set_message(HostReport& r, const std::string& m) {
  r.setup_failed = 1;
  std::snprintf(r.message, sizeof(r.message), "%s", m.c_str());
}

int run_check(const std::string& check, const std::string& out_path) {
  pid_t pid = fork();
  if (pid < 0)
    return 1;
  if (pid == 0) {
    int fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
    }
    execl("/bin/sh", "sh", "-c", check.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

uint64_t injected_of(const ftsc_stats& s) {
  uint64_t n = 0;
  for (const ftsc_stats_slot& slot : s.slots)
    n += slot.injected;
  return n;
}

}  // namespace

namespace {

// One run to make.
struct Job {
  bool golden = false;
  Fault fault;
  size_t id = 0;
  std::string policy_text;
  std::string policy_name;
  // Filled in by the host's end:
  std::string dir;   // scratch/ID
  std::string work;  // the `{}` directory
  HostReport report;
  bool reported = false;
  bool timed_out = false;
  double duration_s = 0;
};

// A run host in flight.
struct Slot {
  pid_t pid = -1;
  int fd = -1;
  Job* job = nullptr;
  Clock::time_point start;
  std::optional<Clock::time_point> deadline;
};

}  // namespace

Runner::Runner(RunnerOptions options) : options_(std::move(options)) {
  g_stop = 0;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
  const char* tmp = getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/ftsc-campaign-XXXXXX";
  if (mkdtemp(pattern.data()) != nullptr)
    scratch_ = pattern;
  if (options_.timeout_s)
    timeout_s_ = *options_.timeout_s;
}

Runner::~Runner() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
  if (!scratch_.empty()) {
    std::error_code ec;
    fs::remove_all(scratch_, ec);
  }
}

bool Runner::stop_requested() const {
  return g_stop != 0;
}

namespace {

struct HostSetup {
  std::vector<std::string> argv;
  std::string cwd;  // "" stays
  std::string dir;
  std::string check;
  bool golden = false;
  std::string policy_text;
  std::string policy_name;
  std::string inject;
};

[[noreturn]] void host_main(const HostSetup& s, int report_fd) {
  HostReport r;
  setpgid(0, 0);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int out = open((s.dir + "/stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  int err = open((s.dir + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in < 0 || out < 0 || err < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
      dup2(err, STDERR_FILENO) < 0) {
    set_message(
        r, fmt::format("cannot set up the run's files in {}: {}", s.dir, std::strerror(errno)));
  } else if (!s.cwd.empty() && chdir(s.cwd.c_str()) != 0) {
    set_message(r, fmt::format("cannot enter {}: {}", s.cwd, std::strerror(errno)));
  } else if (s.golden) {
    observe::Options o;
    o.tracer = observe::Tracer::kPtrace;
    auto p = observe::profile_command(s.argv, o);
    if (!p) {
      set_message(r, p.error().message);
    } else {
      r.exec_failed = p->exec_failed;
      r.exit_code = p->profile.exit_status.value_or(0);
      std::ofstream(s.dir + "/profile.json") << profile::format_profile_json(p->profile);
    }
  } else {
    const kb::KnowledgeBase& kb = kb::KnowledgeBase::builtin();
    policy::LoadedPolicy loaded = policy::parse_policy_text(s.policy_text, s.policy_name);
    auto inject = s.inject.empty() ? base::Result<policy::InjectSpec>(policy::InjectSpec{})
                                   : policy::parse_inject_spec(s.inject, base::SourceLoc{});
    if (!inject) {
      set_message(r, inject.error().message);
    } else {
      if (!s.inject.empty())
        loaded.spec.injects.push_back(*inject);
      policy::Resolved resolved = policy::resolve(loaded.spec, kb);
      auto compiled = policy::compile(resolved.policy, kb);
      if (!compiled) {
        set_message(r, compiled.error().message);
      } else {
        ptrace::Supervisor supervisor(**compiled, ptrace::Options{});
        auto outcome = supervisor.run(s.argv);
        if (!outcome) {
          set_message(r, outcome.error().message);
        } else {
          r.exec_failed = outcome->exec_failed;
          r.signaled = outcome->signaled;
          r.term_signal = outcome->term_signal;
          r.exit_code = outcome->exit_code;
          r.injected = injected_of(supervisor.stats());
        }
      }
    }
  }
  if (!r.setup_failed && !s.check.empty())
    r.check = run_check(s.check, s.dir + "/check");
  ssize_t n = write(report_fd, &r, sizeof(r));
  (void)n;
  _exit(0);
}

// The run's directory named as `{}` again.
std::string substitute_back(const std::string& text, const std::string& dir) {
  if (dir.empty())
    return text;
  std::string out;
  size_t at = 0;
  for (size_t hit; (hit = text.find(dir, at)) != std::string::npos; at = hit + dir.size())
    out += text.substr(at, hit - at) + "{}";
  return out + text.substr(at);
}

std::string tail_of(const std::string& text, size_t n) {
  return text.size() <= n ? text : text.substr(text.size() - n);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

namespace {

void kill_group(pid_t pgid) {
  if (pgid > 0)
    kill(-pgid, SIGKILL);
}

// Makes the job's directory and starts its host; false (with the job's
// report saying why) when that failed.
bool start_host(Job& job, const RunnerOptions& options, const std::string& scratch,
                std::optional<double> timeout_s, Slot& slot) {
  job.dir = fmt::format("{}/{}", scratch, job.id);
  job.work = job.dir + "/dir";
  std::error_code ec;
  fs::create_directories(job.dir, ec);
  if (!ec) {
    if (options.workdir.empty())
      fs::create_directory(job.work, ec);
    else
      fs::copy(options.workdir, job.work,
               fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  }
  if (ec) {
    set_message(job.report,
                fmt::format("cannot make the run's directory {}: {}", job.work, ec.message()));
    job.reported = true;
    return false;
  }
  HostSetup s;
  for (const std::string& a : options.command)
    s.argv.push_back(substitute(a, job.work));
  s.cwd = options.workdir.empty() ? "" : job.work;
  s.dir = job.dir;
  s.check = substitute(options.check, job.work);
  s.golden = job.golden;
  s.policy_text = job.policy_text;
  s.policy_name = job.policy_name;
  if (!job.golden && job.fault.nr >= 0)
    s.inject = fmt::format("{}:error={}:when={}", profile::profile_syscall_label(job.fault.nr),
                           profile::profile_errno_label(job.fault.err), job.fault.occurrence);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    set_message(job.report, fmt::format("pipe: {}", std::strerror(errno)));
    job.reported = true;
    return false;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    set_message(job.report, fmt::format("fork: {}", std::strerror(errno)));
    job.reported = true;
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    host_main(s, fds[1]);
  }
  setpgid(pid, pid);  // as the host does: whichever comes first
  close(fds[1]);
  slot.pid = pid;
  slot.fd = fds[0];
  slot.job = &job;
  slot.start = Clock::now();
  slot.deadline.reset();
  if (timeout_s)
    slot.deadline = slot.start + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(*timeout_s));
  return true;
}

// Reaps a host whose pipe ended, and every process left in its group.
void finish_host(Slot& slot) {
  HostReport r;
  ssize_t n;
  do {
    n = read(slot.fd, &r, sizeof(r));
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof(r))) {
    slot.job->report = r;
    slot.job->reported = true;
  }
  close(slot.fd);
  kill_group(slot.pid);
  while (waitpid(slot.pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  kill_group(slot.pid);
  slot.job->duration_s = std::chrono::duration<double>(Clock::now() - slot.start).count();
  slot.pid = -1;
  slot.fd = -1;
}

// Runs the jobs, at most options.jobs at a time; `finished` sees each as it
// ends. Returns false when a stop request ended it early.
bool execute(std::vector<Job>& jobs, const RunnerOptions& options, const std::string& scratch,
             std::optional<double> timeout_s, const std::function<void(Job&)>& finished) {
  std::vector<Slot> slots(std::max(1u, options.jobs));
  size_t next = 0;
  size_t active = 0;
  while (next < jobs.size() || active > 0) {
    if (g_stop)
      break;
    for (Slot& slot : slots) {
      while (slot.pid < 0 && next < jobs.size() && !g_stop) {
        Job& job = jobs[next++];
        if (start_host(job, options, scratch, timeout_s, slot)) {
          ++active;
        } else {
          finished(job);
        }
      }
    }
    if (active == 0)
      continue;
    std::vector<pollfd> pfds;
    std::vector<Slot*> polled;
    int wait_ms = 1000;
    Clock::time_point now = Clock::now();
    for (Slot& slot : slots) {
      if (slot.pid < 0)
        continue;
      pfds.push_back({slot.fd, POLLIN, 0});
      polled.push_back(&slot);
      if (slot.deadline) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*slot.deadline - now);
        wait_ms = std::clamp(static_cast<int>(left.count()) + 1, 0, wait_ms);
      }
    }
    int ready = poll(pfds.data(), pfds.size(), wait_ms);
    if (ready < 0 && errno != EINTR)
      break;
    now = Clock::now();
    for (size_t i = 0; i < pfds.size(); ++i) {
      Slot& slot = *polled[i];
      bool ended = ready > 0 && (pfds[i].revents & (POLLIN | POLLHUP | POLLERR));
      if (!ended && slot.deadline && now >= *slot.deadline) {
        slot.job->timed_out = true;
        kill_group(slot.pid);
        ended = true;
      }
      if (!ended)
        continue;
      Job& job = *slot.job;
      finish_host(slot);
      --active;
      finished(job);
    }
  }
  // A stop request: the runs in flight are killed and not counted.
  for (Slot& slot : slots) {
    if (slot.pid < 0)
      continue;
    kill_group(slot.pid);
    Job& job = *slot.job;
    finish_host(slot);
    job.reported = false;
  }
  return !g_stop;
}

std::string job_output(const Job& job, const std::string& name) {
  // The run's directory differs from run to run: where a program names it,
  // it is read as `{}`, so that the golden runs and the runs compare.
  std::string text = slurp(job.dir + "/" + name);
  return substitute_back(text, job.work);
}

}  // namespace

namespace {

// What a finished job left, for the classifier.
Observation observe_job(const Job& job, const RunnerOptions& options) {
  Observation o;
  const HostReport& r = job.report;
  o.timed_out = job.timed_out;
  o.signaled = !job.timed_out && r.signaled;
  o.term_signal = r.term_signal;
  o.exit_status = r.exit_code;
  if (!options.ignore_output) {
    o.stdout_digest = digest(job_output(job, "stdout"));
    o.stderr_digest = digest(job_output(job, "stderr"));
  }
  for (const std::string& path : options.compare) {
    std::string p = substitute(path, job.work);
    if (!options.workdir.empty() && !p.empty() && p[0] != '/')
      p = job.work + "/" + p;
    std::error_code ec;
    o.compare_digests[path] = fs::is_regular_file(p, ec)
                                  ? digest(substitute_back(slurp(p), job.work))
                                  : std::string("missing");
  }
  if (r.check >= 0)
    o.check_passed = r.check == 0;
  return o;
}

void remove_job_dir(const Job& job) {
  std::error_code ec;
  if (!job.dir.empty())
    fs::remove_all(job.dir, ec);
}

// What differs between two golden runs, in words.
std::string difference(const Observation& a, const Observation& b) {
  std::vector<std::string> what;
  if (a.exit_status != b.exit_status)
    what.push_back(fmt::format("exit status {} then {}", a.exit_status, b.exit_status));
  if (a.stdout_digest != b.stdout_digest)
    what.push_back("standard output");
  if (a.stderr_digest != b.stderr_digest)
    what.push_back("standard error");
  for (const auto& [path, d] : a.compare_digests)
    if (b.compare_digests.at(path) != d)
      what.push_back(path);
  if (a.check_passed != b.check_passed)
    what.push_back("the --check");
  std::string out;
  for (size_t i = 0; i < what.size(); ++i)
    out += (i ? ", " : "") + what[i];
  return out;
}

}  // namespace

base::Result<Golden> Runner::golden() {
  if (scratch_.empty())
    return base::Error{"cannot make a temporary directory for the runs",
                       {},
                       "check TMPDIR (or /tmp): it must be writable"};
  std::vector<Job> jobs(2);
  for (Job& j : jobs) {
    j.golden = true;
    j.id = next_id_++;
  }
  std::vector<Observation> seen;
  std::vector<std::map<int, uint64_t>> calls;
  std::optional<base::Error> failure;
  Golden g;
  bool done = execute(jobs, options_, scratch_, options_.timeout_s, [&](Job& job) {
    if (failure)
      return;
    if (job.report.setup_failed) {
      failure = base::Error{job.report.message, {}, {}};
    } else if (!job.reported && !job.timed_out) {
      failure = base::Error{"the golden run ended without saying how (its host died)", {}, {}};
    } else if (job.timed_out) {
      failure =
          base::Error{fmt::format("the golden run did not end within the --timeout of {:.1f}s",
                                  *options_.timeout_s),
                      {},
                      "give a longer --timeout"};
    } else if (job.report.exec_failed) {
      failure = base::Error{fmt::format("cannot execute '{}' (exit status {})", options_.command[0],
                                        job.report.exit_code),
                            {},
                            "check the command's name, PATH and permissions"};
    } else {
      Observation o = observe_job(job, options_);
      for (const auto& [path, d] : o.compare_digests)
        if (d == "missing" && !failure)
          failure =
              base::Error{fmt::format("--compare {}: no such file after the golden run", path),
                          {},
                          "name a file the command writes (`{}` is the run's directory)"};
      if (o.check_passed == false && !failure)
        failure = base::Error{fmt::format("--check fails after the golden run: {}",
                                          tail_of(slurp(job.dir + "/check"), 300)),
                              {},
                              "the check must pass when nothing is injected"};
      auto p = profile::parse_profile_json(slurp(job.dir + "/profile.json"), "golden run");
      if (!p && !failure)
        failure = p.error();
      if (!failure) {
        seen.push_back(o);
        calls.push_back(p->counts.calls);
        g.duration_s = std::max(g.duration_s, job.duration_s);
      }
    }
    remove_job_dir(job);
  });
  if (!done)
    return base::Error{"interrupted during the golden runs", {}, {}};
  if (failure)
    return *failure;
  if (seen.size() != 2)
    return base::Error{"the golden runs did not end", {}, {}};
  if (classify(seen[0], seen[1]) != Outcome::kTolerated)
    return base::Error{
        fmt::format("the command does not behave the same in two golden runs: {} differ{}",
                    difference(seen[0], seen[1]), ""),
        {},
        "nondeterministic output: compare only the files that matter with --compare PATH and "
        "--ignore-output, or judge runs with --check CMD"};
  g.observed = seen[0];
  // The occurrences both runs made.
  for (const auto& [nr, n] : calls[0]) {
    auto other = calls[1].find(nr);
    if (other != calls[1].end())
      g.calls[nr] = std::min(n, other->second);
  }
  if (!options_.timeout_s)
    timeout_s_ = std::max(2.0, 5 * g.duration_s);
  return g;
}

base::Result<Observation> Runner::reference(const std::string& policy_text,
                                            const std::string& policy_name) {
  std::vector<Job> jobs(2);
  for (Job& j : jobs) {
    j.fault.nr = -1;  // nothing injected
    j.id = next_id_++;
    j.policy_text = policy_text;
    j.policy_name = policy_name;
  }
  std::vector<Observation> seen;
  std::optional<base::Error> failure;
  bool done = execute(jobs, options_, scratch_, timeout_s_, [&](Job& job) {
    if (job.report.setup_failed && !failure)
      failure = base::Error{job.report.message, {}, {}};
    else if (job.timed_out && !failure)
      failure = base::Error{"under the policy, the command did not end within the timeout",
                            {},
                            "give a longer --timeout"};
    else if (!job.reported && !failure)
      failure = base::Error{"a run under the policy ended without saying how", {}, {}};
    else
      seen.push_back(observe_job(job, options_));
    remove_job_dir(job);
  });
  if (!done)
    return base::Error{"interrupted", {}, {}};
  if (failure)
    return *failure;
  if (seen.size() != 2 || classify(seen[0], seen[1]) != Outcome::kTolerated)
    return base::Error{
        fmt::format("under the policy, the command does not behave the same in two runs: {} differ",
                    seen.size() == 2 ? difference(seen[0], seen[1]) : std::string("runs")),
        {},
        "compare what matters with --compare and --ignore-output, or use --check"};
  return seen[0];
}

bool Runner::run_faults(const Observation& golden, const std::vector<Fault>& faults, int pass,
                        const std::string& policy_text, const std::string& policy_name,
                        std::vector<Run>& out) {
  std::vector<Job> jobs(faults.size());
  for (size_t i = 0; i < faults.size(); ++i) {
    jobs[i].fault = faults[i];
    jobs[i].id = next_id_++;
    jobs[i].policy_text = policy_text;
    jobs[i].policy_name = policy_name;
  }
  size_t done_count = 0;
  Tally tally;
  std::vector<std::optional<Run>> results(faults.size());
  const size_t first_id = jobs.empty() ? 0 : jobs[0].id;
  bool done = execute(jobs, options_, scratch_, timeout_s_, [&](Job& job) {
    Run r;
    r.pass = pass;
    r.fault = job.fault;
    r.duration_s = job.duration_s;
    if (job.report.setup_failed) {
      r.error = job.report.message;
    } else if (!job.reported && !job.timed_out) {
      r.error = "the run ended without saying how (its host died)";
    } else {
      Observation o = observe_job(job, options_);
      r.outcome = classify(golden, o);
      r.exit_status = o.exit_status;
      r.term_signal = o.signaled ? o.term_signal : 0;
      r.injected = job.report.injected;
      r.check_passed = o.check_passed;
      r.stderr_tail = tail_of(job_output(job, "stderr"), 400);
      tally.add(r.outcome);
    }
    remove_job_dir(job);
    results[job.id - first_id] = std::move(r);
    ++done_count;
    if (options_.on_progress)
      options_.on_progress(done_count, faults.size(), tally);
  });
  for (auto& r : results)
    if (r)
      out.push_back(std::move(*r));
  return done;
}

}  // namespace ftsc::campaign
