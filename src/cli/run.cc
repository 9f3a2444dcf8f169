// SPDX-License-Identifier: Apache-2.0
// `ftsc run`: run a command under a policy with an engine, pass its exit
// status through, and report what was retried.
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "base/duration.h"
#include "cli/common.h"
#include "cli/help.h"
#include "cli/metrics.h"
#include "cli/verbs.h"
#include "kb/knowledge_base.h"
#include "policy/compiler.h"
#include "preload/launcher.h"
#include "preload/preload_interface.h"
#include "ptrace/supervisor.h"
#include "stats/report.h"

namespace ftsc::cli {
namespace {

// ftsc's own failure (it could not set up the run), as timeout(1) and env(1) do.
constexpr int kExitSetupFailed = 125;

struct RunOptions {
  PolicyOptions policy;
  std::string engine = "auto";
  std::string stats_json;
  std::string metrics;
  std::string metrics_interval = "15s";
  std::string metrics_instance;
  bool verbose = false;
  bool dry_run = false;
  std::vector<std::string> command;
};

[[noreturn]] void exec_directly(const std::vector<std::string>& command) {
  std::vector<char*> args;
  for (const std::string& a : command)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  int err = errno;
  fmt::print(stderr, "ftsc: cannot execute '{}': {}\n", command[0], std::strerror(err));
  _exit(err == ENOENT ? 127 : 126);
}

// Dies the way the command died, so that a shell sees the same status.
int reraise(int sig) {
  struct rlimit no_core {};
  setrlimit(RLIMIT_CORE, &no_core);  // the command already dumped its own core
  signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  raise(sig);
  return 128 + sig;  // a signal whose default action is not to terminate
}

// --metrics: the labels that keep this run's series apart from other writers'
// (the engine, the command's name, and the instance the user gave).
MetricsWriter metrics_writer(const RunOptions& o) {
  if (o.metrics.empty())
    return MetricsWriter({}, {}, {});
  auto interval = base::parse_duration(o.metrics_interval);
  if (!interval)
    throw UserError{
        fmt::format("--metrics-interval {}: {}", o.metrics_interval, interval.error().message),
        "e.g. --metrics-interval 15s, or 0 to write only at the end", kExitUsage};
  const std::string& argv0 = o.command.front();
  stats::MetricLabels labels = {{"engine", o.engine},
                                {"command", argv0.substr(argv0.rfind('/') + 1)}};
  if (!o.metrics_instance.empty())
    labels.emplace_back("instance", o.metrics_instance);
  return MetricsWriter(o.metrics, std::move(labels), *interval);
}

void report(const RunOptions& o, const ftsc_stats& stats, MetricsWriter& metrics) {
  auto snapshot = stats::read_stats(stats);
  if (!snapshot) {
    fmt::print(stderr, "ftsc: cannot read statistics: {}\n", snapshot.error().message);
    return;
  }
  snapshot->end_abandoned_calls();  // the command and everything it started have ended
  stats::StatsRow total = snapshot->total();
  bool notable = total.retries || total.injected || total.gave_up || total.budget ||
                 total.would_retry || total.guard_unknown || snapshot->dropped;
  if (notable || o.verbose)
    fmt::print(stderr, "{}", stats::format_stats_table(*snapshot));
  if (!o.stats_json.empty())
    write_output(o.stats_json, stats::format_stats_json(*snapshot));
  metrics.finish(*snapshot);
}

// The command's end, as the user sees it: the summary, then its exit status
// (or its signal, re-raised).
template <class Outcome>
int conclude(const RunOptions& o, const ftsc_stats& stats, const Outcome& outcome,
             MetricsWriter& metrics) {
  report(o, stats, metrics);
  if (outcome.exec_failed) {
    fmt::print(stderr, "ftsc: cannot execute '{}': {}\n", o.command[0],
               std::strerror(outcome.exec_errno));
    return outcome.exit_code;
  }
  if (outcome.signaled)
    return reraise(outcome.term_signal);
  return outcome.exit_code;
}

// The sink library code says its lines through: standard error.
void to_stderr(const std::string& lines) {
  fmt::print(stderr, "{}", lines);
}

ptrace::Options supervisor_options(const RunOptions& o) {
  ptrace::Options popts;
  popts.dry_run = o.dry_run;
  popts.verbosity = o.verbose ? 1 : 0;
  popts.log = to_stderr;
  return popts;
}

int run_ptrace(const RunOptions& o, const ftsc_policy& compiled) {
  ptrace::Supervisor supervisor(compiled, supervisor_options(o));
  MetricsWriter metrics = metrics_writer(o);
  metrics.start(supervisor.stats());
  auto outcome = supervisor.run(o.command);
  if (!outcome)
    throw UserError{outcome.error().message, outcome.error().hint, kExitSetupFailed};
  return conclude(o, supervisor.stats(), *outcome, metrics);
}

int run_preload(const RunOptions& o, const ftsc_policy& compiled) {
  auto loadable = preload::check_loadable(o.command[0]);
  if (!loadable)
    throw UserError{loadable.error().message, loadable.error().hint};
  auto library = preload::find_library();
  if (!library)
    throw UserError{library.error().message, library.error().hint, kExitSetupFailed};
  // FTSC_PRELOAD_PATCH=0 turns off the patching of libc's syscall sites
  // (src/preload/patcher.cc), which the command inherits.
  const char* patch = std::getenv("FTSC_PRELOAD_PATCH");
  if (patch != nullptr && std::string_view(patch) == "0")
    fmt::print(stderr,
               "ftsc: the preload engine covers calls through libc's functions only, not raw "
               "syscall instructions or calls inside libc (such as fopen's open); --engine ptrace "
               "covers every call\n");
  else
    fmt::print(stderr,
               "ftsc: the preload engine covers calls through libc, inside it too where it could "
               "patch libc's syscall instructions, not raw syscall instructions of the program or "
               "the loader's own calls; --engine ptrace covers every call\n");
  if (o.verbose)
    fmt::print(stderr, "ftsc: preload library {}\n", *library);
  preload::Options popts;
  popts.library = *library;
  if (o.verbose)
    popts.log = to_stderr;
  preload::Launcher launcher(compiled, popts);
  if (auto prepared = launcher.prepare(); !prepared)
    throw UserError{prepared.error().message, prepared.error().hint, kExitSetupFailed};
  MetricsWriter metrics = metrics_writer(o);
  metrics.start(launcher.stats());
  auto outcome = launcher.run(o.command);
  if (!outcome)
    throw UserError{outcome.error().message, outcome.error().hint, kExitSetupFailed};
  return conclude(o, launcher.stats(), *outcome, metrics);
}

// The preload library in-process, under the ptrace supervisor as the safety
// net: the library's calls come from the syscall page, which the supervisor's
// filter lets through; the supervisor traces every other call the policy
// names. Programs the library cannot load into run under the supervisor alone.
int run_auto(const RunOptions& o, const ftsc_policy& compiled) {
  auto loadable = preload::check_loadable(o.command[0]);
  if (!loadable) {
    if (o.verbose)
      fmt::print(stderr, "ftsc: {}; the ptrace engine handles it alone\n",
                 loadable.error().message);
    return run_ptrace(o, compiled);
  }
  auto library = preload::find_library();
  if (!library) {
    fmt::print(stderr, "ftsc: {}; the ptrace engine handles the command alone\n",
               library.error().message);
    return run_ptrace(o, compiled);
  }
  if (o.verbose)
    fmt::print(stderr, "ftsc: preload library {} under the ptrace supervisor\n", *library);
  auto files = preload::RunFiles::create(compiled, *library,
                                         o.verbose ? base::LogSink(to_stderr) : base::LogSink(),
                                         o.verbose ? "preload" : "");
  if (!files)
    throw UserError{files.error().message, files.error().hint, kExitSetupFailed};
  ptrace::Options popts = supervisor_options(o);
  popts.log_layer = "ptrace";
  popts.environment = (*files)->environment(true);
  popts.untraced_ip = FTSC_SYSCALL_PAGE_ADDRESS + FTSC_SYSCALL_PAGE_RETURN_OFFSET;
  popts.stats = &(*files)->stats();
  popts.budgets = (*files)->budgets();
  popts.n_budgets = (*files)->n_budgets();
  ptrace::Supervisor supervisor(compiled, popts);
  MetricsWriter metrics = metrics_writer(o);
  metrics.start((*files)->stats());
  (*files)->start_log();
  auto outcome = supervisor.run(o.command);
  (*files)->finish_log();
  if (!outcome)
    throw UserError{outcome.error().message, outcome.error().hint, kExitSetupFailed};
  return conclude(o, (*files)->stats(), *outcome, metrics);
}

int run_command(const RunOptions& o) {
  if (o.engine == "kmod")
    throw UserError{"the kmod engine is system-wide: it is not started by `ftsc run`",
                    "load a policy for it with `ftsc kmod load FILE` (its [target] says which "
                    "processes), or use --engine auto, ptrace or preload",
                    kExitUsage};
  if (pid_t outer = ptrace::enclosing_supervisor()) {
    // One layer handles each call: the outer ftsc already traces this tree.
    fmt::print(stderr,
               "ftsc: already running under ftsc (pid {}); running '{}' directly, so only the "
               "outer ftsc's policy applies\n",
               outer, o.command[0]);
    exec_directly(o.command);
  }
  if (preload::active_in_this_process()) {
    // The same for an outer preload run: its library is in this process and,
    // through the environment, in the command.
    fmt::print(stderr,
               "ftsc: already running under ftsc (the preload engine); running '{}' directly, "
               "so only the outer ftsc's policy applies\n",
               o.command[0]);
    exec_directly(o.command);
  }
  policy::EffectivePolicy policy;
  if (o.policy.file.empty() && o.policy.flags.empty()) {
    policy = policy::resolve(policy::PolicySpec{}, kb::KnowledgeBase::builtin()).policy;
    if (o.verbose)
      fmt::print(stderr, "ftsc: no policy given: nothing will be retried\n");
  } else {
    policy = load_effective_policy(o.policy);
  }
  policy::CompileOptions copts;
  copts.dry_run = o.dry_run;
  auto compiled = policy::compile(policy, kb::KnowledgeBase::builtin(), copts);
  if (!compiled)
    throw UserError{compiled.error().message, compiled.error().hint};

  if (o.engine == "preload")
    return run_preload(o, **compiled);
  if (o.engine == "ptrace")
    return run_ptrace(o, **compiled);
  return run_auto(o, **compiled);
}

// The message for `ftsc run -X ...` where -X is no option of ftsc run.
std::string unknown_run_option(const std::string& word) {
  const std::string name = word.substr(0, word.find('='));
  const bool short_pid = name.rfind("-p", 0) == 0 && name.find_first_not_of("0123456789", 2) ==
                                                         std::string::npos;  // -p or -p123
  if (name == "--pid" || short_pid)
    return fmt::format(
        "{}: ftsc run starts the command it runs and cannot attach to a running process; to "
        "retry the calls of a running process, load a policy whose [target] names its pid "
        "into the kernel engine (`ftsc kmod load POLICY`, see docs/kmod.md), or start the "
        "program under `ftsc run -- COMMAND`",
        name);
  return fmt::format(
      "{}: not an option of ftsc run (ftsc run [OPTIONS] -- COMMAND [ARGS...]; a command "
      "whose name starts with '-' goes after --)",
      name);
}

}  // namespace

void register_run_verb(CLI::App& app, Action& action, const std::vector<std::string>* command) {
  auto opts = std::make_shared<RunOptions>();
  CLI::App* run =
      app.add_subcommand("run", "Run a command, retrying its failed syscalls as the policy says");
  set_usage(run, {"ftsc run [OPTIONS] -- COMMAND [ARGS...]"},
            {"ftsc run --policy app.toml -- ./app --serve",
             "ftsc run --retry openat=ENOENT --inject 'openat:error=ENOENT:when=1..2' -- cat "
             "/etc/hostname"});
  run->add_option("--policy", opts->policy.file, "Policy file (TOML or retry matrix)")
      ->type_name("FILE");
  add_policy_flag_options(run, opts->policy);
  run->add_option("--engine", opts->engine,
                  "Engine: auto (the preload library under the ptrace supervisor, the "
                  "default), ptrace or preload")
      ->check(CLI::IsMember({"ptrace", "preload", "auto", "kmod"}));
  run->add_option("--stats", opts->stats_json, "Write statistics as JSON to FILE")
      ->type_name("FILE");
  run->add_option("--metrics", opts->metrics,
                  "Write statistics as Prometheus text to FILE, replaced whole every "
                  "--metrics-interval and at the end")
      ->type_name("FILE");
  run->add_option("--metrics-interval", opts->metrics_interval,
                  "How often --metrics is rewritten while the command runs (default 15s; 0: "
                  "only at the end)")
      ->type_name("DURATION");
  run->add_option("--metrics-instance", opts->metrics_instance,
                  "An instance label for --metrics's series, to tell writers apart")
      ->type_name("NAME");
  run->add_flag("-v,--verbose", opts->verbose, "Log every retry, and always print the summary");
  run->add_flag("--dry-run", opts->dry_run, "Decide and count, never wait or retry");
  // Everything from the command on belongs to the command, options included.
  run->prefix_command();
  run->callback([run, &action, opts, command] {
    opts->command = command_words(run, command);
    if (opts->command.empty())
      throw CLI::ValidationError("COMMAND",
                                 "no command given: ftsc run [OPTIONS] -- COMMAND [ARGS...]");
    // Without `--`, a first word that looks like an option is one ftsc does
    // not know, not a program to run.
    if (command == nullptr && opts->command.front().size() > 1 && opts->command.front()[0] == '-')
      throw CLI::ValidationError(unknown_run_option(opts->command.front()));
    action = [opts] { return run_command(*opts); };
  });
}

}  // namespace ftsc::cli
