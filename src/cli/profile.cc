// SPDX-License-Identifier: Apache-2.0
// `ftsc profile`: observe which syscalls fail, with which errno and how often,
// in one command or on the whole machine, and write the profile as a table,
// JSON and an HTML report.
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "base/duration.h"
#include "cli/common.h"
#include "cli/help.h"
#include "cli/verbs.h"
#include "launch/spawn.h"
#include "observe/profiler.h"
#include "profile/audit.h"
#include "profile/html.h"
#include "profile/json.h"
#include "profile/table.h"

namespace ftsc::cli {
namespace {

struct ProfileOptions {
  std::vector<std::string> command;
  bool system = false;
  std::string duration;
  std::string cgroup;
  int pid = 0;
  std::string comm;
  std::string tracer = "auto";
  std::string from_audit;
  std::string output;
  std::string report;
  bool quiet = false;
  int rows = 25;
};

observe::Options collector_options(const ProfileOptions& o, LiveLine& live) {
  observe::Options opts;
  opts.tracer = o.tracer == "ebpf"     ? observe::Tracer::kEbpf
                : o.tracer == "ptrace" ? observe::Tracer::kPtrace
                                       : observe::Tracer::kAuto;
  if (live.enabled()) {
    opts.on_tick = [&live](const profile::ProfileCounts& counts, double elapsed_s) {
      live.show(profile::format_profile_live(counts, elapsed_s));
    };
  }
  opts.on_notice = [](const std::string& message) { fmt::print(stderr, "ftsc: {}\n", message); };
  return opts;
}

// The outputs of a finished profile: the table (to `table_to`), then the files.
void write_outputs(const ProfileOptions& o, const profile::Profile& p, FILE* table_to) {
  if (!o.quiet) {
    std::string table = profile::format_profile_table(p, static_cast<size_t>(o.rows));
    fwrite(table.data(), 1, table.size(), table_to);
    fflush(table_to);
  }
  if (!o.output.empty())
    write_output(o.output, profile::format_profile_json(p));
  if (!o.report.empty())
    write_output(o.report, profile::format_profile_html(p));
}

int run_from_audit(const ProfileOptions& o) {
  if (!o.command.empty() || o.system || o.tracer != "auto")
    throw UserError{
        "--from-audit reads a log: it takes no command, --system or --tracer", {}, kExitUsage};
  std::string text = read_file(o.from_audit, "audit log");
  auto profile = profile::parse_audit_log(text, o.from_audit);
  if (!profile) {
    const base::Error& e = profile.error();
    throw UserError{fmt::format("{}: {}", e.where.str(), e.message), e.hint};
  }
  write_outputs(o, *profile, stdout);
  return kExitOk;
}

int run_profile(const ProfileOptions& o) {
  bool has_filter = !o.cgroup.empty() || o.pid != 0 || !o.comm.empty();
  if (!o.from_audit.empty() && (has_filter || !o.duration.empty()))
    throw UserError{"--from-audit takes no --duration, --cgroup, --pid or --comm",
                    "narrow the audit rule instead (auditctl -F)", kExitUsage};
  if (!o.from_audit.empty())
    return run_from_audit(o);
  if (!o.command.empty() && o.system)
    throw UserError{"--system and a command exclude each other",
                    "profile either the machine (--system) or one command (-- CMD)", kExitUsage};
  if (o.command.empty() && !o.system)
    throw UserError{"nothing to profile",
                    "give a command (ftsc profile -- CMD ARGS...), --system or --from-audit FILE",
                    kExitUsage};
  if (!o.system && (has_filter || !o.duration.empty()))
    throw UserError{"--duration, --cgroup, --pid and --comm need --system", {}, kExitUsage};
  if ((!o.cgroup.empty()) + (o.pid != 0) + (!o.comm.empty()) > 1)
    throw UserError{"--cgroup, --pid and --comm exclude each other", "give one of them",
                    kExitUsage};
  if (o.output == "-" && o.command.empty() && !o.quiet)
    throw UserError{"-o - would mix the JSON with the table on stdout", "add -q", kExitUsage};

  // Live counts only when stdout and stderr both are terminals.
  LiveLine live(isatty(STDOUT_FILENO) && isatty(STDERR_FILENO));
  observe::Options opts = collector_options(o, live);
  if (!o.command.empty()) {
    auto path = launch::find_program(o.command[0]);
    if (!path)
      throw UserError{path.error().message, "check the command's name and PATH", 127};
    auto result = observe::profile_command(o.command, opts);
    live.clear();
    if (!result)
      throw UserError{result.error().message, result.error().hint, 125};
    if (result->exec_failed)
      fmt::print(stderr, "ftsc: cannot execute '{}'\n", o.command[0]);
    // The command's stdout is its own: the table goes to stderr.
    write_outputs(o, result->profile, stderr);
    return result->profile.exit_status.value_or(0);
  }

  observe::SystemTarget target;
  if (!o.duration.empty()) {
    auto d = base::parse_duration(o.duration);
    if (!d)
      throw UserError{fmt::format("--duration '{}': {}", o.duration, d.error().message),
                      "e.g. --duration 30s or 5m", kExitUsage};
    if (d->count() == 0)
      throw UserError{"--duration must be longer than 0", {}, kExitUsage};
    target.duration = *d;
  }
  target.cgroup = o.cgroup;
  if (o.pid != 0)
    target.pid = o.pid;
  target.comm = o.comm;
  if (o.tracer == "ptrace")
    throw UserError{"--system needs eBPF; ptrace follows one command only",
                    "use --tracer ebpf or auto", kExitUsage};
  auto result = observe::profile_system(target, opts);
  live.clear();
  if (!result)
    throw UserError{result.error().message, result.error().hint};
  write_outputs(o, *result, stdout);
  return kExitOk;
}

}  // namespace

void register_profile_verb(CLI::App& app, Action& action, const std::vector<std::string>* command) {
  auto opts = std::make_shared<ProfileOptions>();
  CLI::App* cmd = app.add_subcommand(
      "profile", "Count which syscalls fail, with which errno, in a command or on the machine");
  set_usage(cmd,
            {"ftsc profile [OPTIONS] -- COMMAND [ARGS...]",
             "ftsc profile --system [--duration D] [--cgroup PATH|--pid N|--comm NAME] [OPTIONS]",
             "ftsc profile --from-audit FILE [OPTIONS]"},
            {"ftsc profile -o app.json -- ./app --serve",
             "ftsc profile --system --duration 60s --comm nginx -o nginx.json",
             "ftsc profile --from-audit /var/log/audit/audit.log -o audit.json"});
  cmd->add_flag("--system", opts->system, "Profile the whole machine (eBPF; root)");
  cmd->add_option("--duration", opts->duration,
                  "With --system: stop after this long (default: at Ctrl-C), e.g. 30s")
      ->type_name("D");
  cmd->add_option("--cgroup", opts->cgroup,
                  "With --system: only tasks in this cgroup v2 directory and below")
      ->type_name("PATH");
  cmd->add_option("--pid", opts->pid,
                  "With --system: only this process and the processes it starts")
      ->type_name("N")
      ->check(counting_from_one());
  cmd->add_option("--comm", opts->comm, "With --system: only tasks with this name")
      ->type_name("NAME");
  cmd->add_option("--tracer", opts->tracer,
                  "auto (eBPF, or ptrace for a command when eBPF cannot be used), ebpf, ptrace")
      ->check(CLI::IsMember({"auto", "ebpf", "ptrace"}));
  cmd->add_option("--from-audit", opts->from_audit,
                  "Read a raw auditd log (auditctl -a always,exit -S all ...) instead of tracing")
      ->type_name("FILE");
  cmd->add_option("-o,--output", opts->output, "Write the profile as JSON to FILE")
      ->type_name("FILE");
  cmd->add_option("--report", opts->report,
                  "Write a self-contained HTML report (SVG charts) to FILE")
      ->type_name("FILE");
  cmd->add_option("--rows", opts->rows,
                  "Table rows: every syscall that failed, then the most called up to N (0: all)")
      ->type_name("N")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("-q,--quiet", opts->quiet, "Print no table");
  cmd->prefix_command();
  cmd->callback([cmd, &action, opts, command] {
    opts->command = command_words(cmd, command);
    action = [opts] { return run_profile(*opts); };
  });
}

}  // namespace ftsc::cli
