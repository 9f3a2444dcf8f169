// SPDX-License-Identifier: Apache-2.0
// `ftsc kmod`: the system-wide kernel engine. load compiles a policy and hands
// it to the ftsc module (inserting the module first when needed), status and
// stats read the module's state, unload detaches the policy and removes the
// module. docs/kmod.md describes the module.
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>

#include "cli/common.h"
#include "cli/help.h"
#include "cli/verbs.h"
#include "kb/knowledge_base.h"
#include "kb/syscall_table.h"
#include "kmod/control.h"
#include "kmod/module_file.h"
#include "policy/compiler.h"
#include "stats/report.h"

namespace ftsc::cli {
namespace {

struct KmodOptions {
  PolicyOptions policy;
  std::string module;  // --module: the ftsc.ko to insert when it is not loaded
  bool dry_run = false;
  bool json = false;
  bool prometheus = false;
  bool keep_module = false;
  double wait_s = 1.0;
};

[[noreturn]] void fail(const base::Error& e) {
  throw UserError{e.message, e.hint};
}

// Inserts the module when its control files are missing: the path given, or
// the running kernel's ftsc.ko as modprobe finds it (DKMS's updates/dkms/,
// make modules_install's extra/; src/kmod/module_file.h).
void ensure_module(const kmod::Control& control, const std::string& module) {
  if (control.module_loaded())
    return;
  std::vector<std::string> candidates;
  if (!module.empty())
    candidates.push_back(module);
  else
    candidates = kmod::module_file_candidates();
  for (const std::string& path : candidates) {
    if (!module.empty() || access(path.c_str(), R_OK) == 0) {
      if (auto r = control.insert_module(path); !r)
        fail(r.error());
      fmt::print(stderr, "ftsc: inserted the kernel module {}\n", path);
      return;
    }
  }
  throw UserError{"the ftsc module is not loaded and no ftsc.ko was found (looked in " +
                      fmt::format("{}", fmt::join(candidates, ", ")) + ")",
                  "install the ftsc-dkms package (DKMS builds it for this kernel), or build it "
                  "with `make -C kmod` and give its path with --module kmod/ftsc.ko"};
}

std::string joined_or(const std::vector<std::string>& items, const char* none) {
  return items.empty() ? none : fmt::format("{}", fmt::join(items, ", "));
}

int run_load(const KmodOptions& o) {
  policy::EffectivePolicy policy = load_effective_policy(o.policy);
  policy::CompileOptions copts;
  copts.dry_run = o.dry_run;
  auto compiled = policy::compile(policy, kb::KnowledgeBase::builtin(), copts);
  if (!compiled)
    fail(compiled.error());
  const kmod::Control control;
  ensure_module(control, o.module);
  if (auto r = control.load_policy(**compiled); !r)
    fail(r.error());
  auto status = control.status();
  if (!status)
    fail(status.error());
  const std::string name = o.policy.file.empty() ? "the command-line policy" : o.policy.file;
  fmt::print("ftsc: {} is loaded into the kernel ({} mode): hooked {}; target {}\n", name,
             status->mode, joined_or(status->hooked, "nothing"), status->target);
  if (status->version != FTSC_VERSION)
    fmt::print(stderr,
               "ftsc: warning: the loaded module is version {}, this ftsc {}: unload it and "
               "load the policy again to insert the module of this version\n",
               status->version.empty() ? "unknown" : status->version, FTSC_VERSION);
  if (!status->unhookable.empty())
    fmt::print(stderr,
               "ftsc: warning: this kernel has no entry point for {}: calls of these are not "
               "retried\n",
               fmt::join(status->unhookable, ", "));
  std::vector<std::string> not_hooked;
  for (unsigned nr = 0; nr < FTSC_NR_LIMIT; ++nr) {
    const uint16_t flags = (*compiled)->syscalls[nr].flags;
    if ((flags & FTSC_SC_INJECT) && (flags & FTSC_SC_NEVER_RETRY))
      not_hooked.emplace_back(kb::syscall_name(static_cast<int>(nr)));
  }
  if (!not_hooked.empty())
    fmt::print(stderr,
               "ftsc: warning: the kernel engine never hooks {} (never retried), so their "
               "injections do nothing here; `ftsc run` performs them\n",
               fmt::join(not_hooked, ", "));
  if (ftsc_policy_retries_async_connect(compiled->get(), SYS_connect))
    fmt::print(stderr,
               "ftsc: warning: the kernel engine retries connect only when connect itself "
               "fails: a non-blocking connect whose failure the program reads later (SO_ERROR, "
               "poll) is not retried here; `ftsc run` retries it (docs/kmod.md)\n");
  if ((*compiled)->target.flags == 0)
    fmt::print(stderr,
               "ftsc: warning: the policy has no [target], so it affects no process; add a "
               "[target] section (cgroup, uid, comm, pid, or all = true)\n");
  return kExitOk;
}

int run_status(const KmodOptions&) {
  const kmod::Control control;
  if (!control.module_loaded()) {
    fmt::print("module: not loaded\n");
    for (const std::string& path : kmod::module_file_candidates())
      if (access(path.c_str(), R_OK) == 0) {
        fmt::print("module_file: {} (`ftsc kmod load` inserts it)\n", path);
        break;
      }
    return kExitOk;
  }
  auto status = control.status();
  if (!status)
    fail(status.error());
  fmt::print("{}", status->text);
  return kExitOk;
}

int run_stats(const KmodOptions& o) {
  if (o.json && o.prometheus)
    throw UserError{"--json and --prometheus exclude each other", "choose one", kExitUsage};
  const kmod::Control control;
  auto table = control.stats();
  if (!table)
    fail(table.error());
  auto snapshot = stats::read_stats(**table);
  if (!snapshot)
    fail(snapshot.error());
  if (o.json)
    write_output("", stats::format_stats_json(*snapshot));
  else if (o.prometheus)
    write_output("", stats::format_stats_prometheus(*snapshot, {{"engine", "kmod"}}));
  else
    write_output("", stats::format_stats_table(*snapshot));
  return kExitOk;
}

int run_unload(const KmodOptions& o) {
  const kmod::Control control;
  if (o.keep_module) {
    if (auto r = control.detach(); !r)
      fail(r.error());
    fmt::print("ftsc: the policy is detached; the module stays loaded\n");
    return kExitOk;
  }
  auto out = control.remove_module(static_cast<int>(o.wait_s * 1000));
  if (!out)
    fail(out.error());
  if (!out->was_loaded) {
    fmt::print("ftsc: the ftsc module is not loaded; nothing to unload\n");
    return kExitOk;
  }
  if (out->removed) {
    fmt::print("ftsc: the policy is detached and the module removed\n");
    return kExitOk;
  }
  const kmod::ModuleStatus& s = out->status;
  std::string calls = kmod::describe_calls(s.calls);
  if (s.in_flight > static_cast<long>(s.calls.size()))
    calls += fmt::format("  ... and {} more\n", s.in_flight - static_cast<long>(s.calls.size()));
  fmt::print(stderr,
             "ftsc: the policy is detached, but the module stays loaded: {} call{} in flight "
             "hold{} it:\n{}",
             s.in_flight, s.in_flight == 1 ? "" : "s", s.in_flight == 1 ? "s" : "", calls);
  throw UserError{"the module is still in use",
                  "the calls are no longer retried; they release the module when their "
                  "syscalls return: run `ftsc kmod unload` again then"};
}

}  // namespace

void register_kmod_verb(CLI::App& app, Action& action) {
  auto opts = std::make_shared<KmodOptions>();
  CLI::App* kmod = app.add_subcommand(
      "kmod", "The system-wide kernel engine: load a policy into the ftsc module, inspect it");
  kmod->require_subcommand(1);
  set_usage(kmod, {"ftsc kmod SUBCOMMAND [OPTIONS] [ARGS...]"},
            {"ftsc kmod load --module kmod/ftsc.ko policy.toml", "ftsc kmod status"});

  auto bind = [&action, opts](CLI::App* cmd, int (*run)(const KmodOptions&)) {
    cmd->callback([&action, opts, run] { action = [opts, run] { return run(*opts); }; });
  };

  CLI::App* load = kmod->add_subcommand(
      "load", "Compile a policy and load it into the kernel module (replacing the loaded one)");
  set_usage(
      load, {"ftsc kmod load [OPTIONS] [FILE]"},
      {"ftsc kmod load --module kmod/ftsc.ko policy.toml", "ftsc kmod load --dry-run policy.toml"});
  load->add_option("file", opts->policy.file, "Policy file (TOML or retry matrix)");
  add_policy_flag_options(load, opts->policy);
  load->add_option("--module", opts->module,
                   "The ftsc.ko to insert when the module is not loaded yet (default: the "
                   "running kernel's, found as modprobe finds it, e.g. in updates/dkms/)")
      ->type_name("PATH");
  load->add_flag("--dry-run", opts->dry_run, "Decide and count, never retry (observe mode)");
  bind(load, run_load);

  CLI::App* status = kmod->add_subcommand(
      "status", "Show the module's state: policy, target, hooks, calls in flight");
  set_usage(status, {"ftsc kmod status"}, {"ftsc kmod status"});
  bind(status, run_status);

  CLI::App* stats = kmod->add_subcommand(
      "stats", "Print the retry statistics of the loaded (or last loaded) policy");
  set_usage(stats, {"ftsc kmod stats [--json|--prometheus]"},
            {"ftsc kmod stats", "ftsc kmod stats --prometheus > /var/lib/node_exporter/ftsc.prom"});
  stats->add_flag("--json", opts->json, "As JSON");
  stats->add_flag("--prometheus", opts->prometheus, "As Prometheus text exposition");
  bind(stats, run_stats);

  CLI::App* unload = kmod->add_subcommand(
      "unload", "Detach the policy (waiting calls return their last error) and remove the module");
  set_usage(unload, {"ftsc kmod unload [--keep-module] [--wait SECONDS]"},
            {"ftsc kmod unload", "ftsc kmod unload --keep-module --wait 10"});
  unload->add_flag("--keep-module", opts->keep_module, "Detach the policy only");
  unload
      ->add_option("--wait", opts->wait_s,
                   "Seconds to wait for calls in flight to return before giving up")
      ->check(CLI::Range(0.0, 3600.0))
      ->type_name("SECONDS");
  bind(unload, run_unload);
}

}  // namespace ftsc::cli
