// SPDX-License-Identifier: Apache-2.0
// kmod_run: runs one command under the kernel engine, with the command line
// of `ftsc run`, so that the scenario runner (tests/scenarios/runner.cc) can
// drive the kmod engine through its --ftsc flag, unchanged:
//
//   kmod_run run --engine kmod --policy FILE [--retry R] [--backoff B]
//            [--inject I] --stats FILE.json -- COMMAND ARGS...
//
// The kernel engine is system-wide and selects processes by the policy's
// [target]; this replaces the target with a fresh cgroup v2 group that holds
// only the command and its descendants (so forked and exec'd children are
// covered, as under the other engines), loads the policy into the module,
// runs the command in that group, writes the module's statistics for the run
// (a load starts a fresh table) as `ftsc run --stats` does, detaches the
// policy and removes the group. Exit status: the command's (128 + signal when
// it was killed), 125 when the run could not be set up.
//
// The module must be loaded, or FTSC_KMOD_MODULE must name the ftsc.ko to
// insert. cgroup2 must be mounted at /sys/fs/cgroup.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kb/knowledge_base.h"
#include "kmod/control.h"
#include "policy/compiler.h"
#include "policy/effective_policy.h"
#include "policy/source.h"
#include "stats/report.h"

namespace {

constexpr int kSetupFailed = 125;
constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

[[noreturn]] void die(const std::string& what) {
  fmt::print(stderr, "kmod_run: {}\n", what);
  std::exit(kSetupFailed);
}

struct Args {
  std::string policy;
  std::string stats;
  ftsc::policy::PolicyFlags flags;
  std::vector<std::string> command;
};

Args parse(int argc, char** argv) {
  Args a;
  int i = 1;
  if (i >= argc || std::string(argv[i]) != "run")
    die("usage: kmod_run run --engine kmod --policy FILE [--retry R] [--backoff B] "
        "[--inject I] [--stats FILE] -- COMMAND...");
  for (++i; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      a.command.assign(argv + i + 1, argv + argc);
      break;
    }
    if (i + 1 >= argc)
      die(arg + " needs a value");
    const std::string value = argv[++i];
    if (arg == "--engine") {
      if (value != "kmod")
        die("only --engine kmod is run here, not " + value);
    } else if (arg == "--policy") {
      a.policy = value;
    } else if (arg == "--stats") {
      a.stats = value;
    } else if (arg == "--retry") {
      a.flags.retry.push_back(value);
    } else if (arg == "--backoff") {
      a.flags.backoff = value;
    } else if (arg == "--inject") {
      a.flags.inject.push_back(value);
    } else {
      die("unknown option " + arg);
    }
  }
  if (a.command.empty())
    die("no command after --");
  return a;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    die(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    die(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  const ssize_t n = write(fd, text.data(), text.size());
  const int err = errno;
  close(fd);
  if (n != static_cast<ssize_t>(text.size()))
    die(fmt::format("cannot write '{}' to {}: {}", text, path, std::strerror(err)));
}

ftsc::policy::CompiledPolicy compile(const Args& a, const std::string& cgroup) {
  using namespace ftsc::policy;
  using ftsc::base::Diagnostic;
  using ftsc::base::format_diagnostic;
  using ftsc::base::has_errors;
  using ftsc::kb::KnowledgeBase;
  LoadedPolicy loaded = parse_policy_text(read_text(a.policy), a.policy);
  std::vector<Diagnostic> more = apply_policy_flags(loaded.spec, a.flags);
  loaded.diags.insert(loaded.diags.end(), more.begin(), more.end());
  loaded.spec.target = TargetSpec{};
  loaded.spec.target.cgroup = cgroup;
  Resolved r = resolve(loaded.spec, KnowledgeBase::builtin());
  loaded.diags.insert(loaded.diags.end(), r.diags.begin(), r.diags.end());
  if (has_errors(loaded.diags)) {
    for (const Diagnostic& d : loaded.diags)
      fmt::print(stderr, "{}\n", format_diagnostic(d));
    die("the policy has errors");
  }
  auto compiled = ftsc::policy::compile(r.policy, KnowledgeBase::builtin());
  if (!compiled)
    die(compiled.error().message);
  return std::move(*compiled);
}

// Ends whatever the command left in its group, then removes the group.
void remove_cgroup(const std::string& dir) {
  const std::string kill_file = dir + "/cgroup.kill";
  if (access(kill_file.c_str(), W_OK) == 0)
    write_text(kill_file, "1");
  for (int i = 0; i < 200; ++i) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT)
      return;
    usleep(10000);
  }
  fmt::print(stderr, "kmod_run: cannot remove {}: {}\n", dir, std::strerror(errno));
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  const ftsc::kmod::Control control;
  if (!control.module_loaded()) {
    const char* module = std::getenv("FTSC_KMOD_MODULE");
    if (!module)
      die("the ftsc module is not loaded (set FTSC_KMOD_MODULE to insert it)");
    if (auto r = control.insert_module(module); !r)
      die(r.error().message);
  }

  const std::string group = fmt::format("/ftsc-kmod-run-{}", getpid());
  const std::string dir = kCgroupRoot + group;
  if (mkdir(dir.c_str(), 0755) != 0)
    die(fmt::format("cannot create the cgroup {}: {}", dir, std::strerror(errno)));
  const ftsc::policy::CompiledPolicy policy = compile(a, group);
  if (auto r = control.load_policy(*policy); !r) {
    remove_cgroup(dir);
    die(r.error().message);
  }

  const pid_t child = fork();
  if (child < 0)
    die(fmt::format("fork: {}", std::strerror(errno)));
  if (child == 0) {
    // Join the group first: from the exec on, every call is in the target.
    const std::string procs = dir + "/cgroup.procs";
    const int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "0", 1) != 1) {
      dprintf(STDERR_FILENO, "kmod_run: cannot join %s: %s\n", procs.c_str(), strerror(errno));
      _exit(kSetupFailed);
    }
    close(fd);
    std::vector<char*> args;
    for (const std::string& s : a.command)
      args.push_back(const_cast<char*>(s.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    const int err = errno;
    dprintf(STDERR_FILENO, "kmod_run: cannot execute %s: %s\n", args[0], strerror(err));
    _exit(err == ENOENT ? 127 : 126);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }

  auto table = control.stats();
  if (!table)
    die(table.error().message);
  auto snapshot = ftsc::stats::read_stats(**table);
  if (!snapshot)
    die(snapshot.error().message);
  if (!a.stats.empty()) {
    std::ofstream out(a.stats);
    out << ftsc::stats::format_stats_json(*snapshot);
    if (!out)
      die("cannot write " + a.stats);
  }
  fmt::print(stderr, "{}", ftsc::stats::format_stats_table(*snapshot));
  if (auto r = control.detach(); !r)
    die(r.error().message);
  remove_cgroup(dir);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
