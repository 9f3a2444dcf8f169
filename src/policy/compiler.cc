// SPDX-License-Identifier: Apache-2.0
#include "policy/compiler.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

namespace ftsc::policy {
namespace {

// The validator refuses what the policy language refuses: the same longest duration.
static_assert(base::kMaxPolicyDuration.count() == static_cast<int64_t>(FTSC_MAX_DURATION_NS),
              "FTSC_MAX_DURATION_NS must be base::kMaxPolicyDuration");

uint8_t arg_index(int arg) {
  return arg < 0 ? FTSC_ARG_NONE : static_cast<uint8_t>(arg);
}

base::Error compile_error(std::string message, std::string hint = {}) {
  return base::Error{std::move(message), {}, std::move(hint)};
}

}  // namespace

base::Result<CompiledPolicy> compile(const EffectivePolicy& policy, const kb::KnowledgeBase& kb,
                                     const CompileOptions& options) {
  auto out = std::make_unique<ftsc_policy>();  // value-initialised: all zero
  ftsc_policy& p = *out;
  p.magic = FTSC_POLICY_MAGIC;
  p.version = FTSC_POLICY_VERSION;
  p.size = sizeof(ftsc_policy);
  if (policy.spec.mode == Mode::kObserve || options.dry_run)
    p.flags |= FTSC_POLICY_OBSERVE;
  p.budget_window_ns = static_cast<uint64_t>(policy.spec.budget.window.count());
  p.budget_max_wait_ns = static_cast<uint64_t>(policy.spec.budget.max_wait.count());

  const TargetSpec& t = policy.spec.target;
  if (t.all)
    p.target.flags |= FTSC_TARGET_ALL;
  if (t.uid) {
    p.target.flags |= FTSC_TARGET_UID;
    p.target.uid = *t.uid;
  }
  if (t.pid) {
    p.target.flags |= FTSC_TARGET_PID;
    p.target.pid = *t.pid;
  }
  if (t.comm) {
    if (t.comm->size() >= FTSC_COMM_LEN)
      return compile_error(
          fmt::format("target comm '{}' is longer than {} bytes", *t.comm, FTSC_COMM_LEN - 1));
    p.target.flags |= FTSC_TARGET_COMM;
    std::memcpy(p.target.comm, t.comm->data(), t.comm->size());
  }
  if (t.cgroup) {
    if (t.cgroup->size() >= FTSC_CGROUP_LEN)
      return compile_error(
          fmt::format("target cgroup path is longer than {} bytes", FTSC_CGROUP_LEN - 1));
    p.target.flags |= FTSC_TARGET_CGROUP;
    std::memcpy(p.target.cgroup, t.cgroup->data(), t.cgroup->size());
  }

  // Numbers without a syscall, and syscalls without traits, have no arguments to check.
  for (ftsc_syscall& sc : p.syscalls) {
    sc.fd_arg = sc.flags_arg = sc.timeout_arg = FTSC_ARG_NONE;
    sc.nonblock_cmds[0] = sc.nonblock_cmds[1] = -1;
  }
  for (const kb::SyscallTraits& tr : kb.syscalls()) {
    if (tr.nr < 0 || tr.nr >= static_cast<int>(FTSC_NR_LIMIT))
      continue;
    ftsc_syscall& sc = p.syscalls[tr.nr];
    sc.fd_arg = arg_index(tr.fd_arg);
    sc.flags_arg = arg_index(tr.flags_arg);
    sc.timeout_arg = arg_index(tr.timeout_arg);
    sc.flags = static_cast<uint16_t>(tr.guards & FTSC_SC_GUARDS);
    if (tr.never_retry)
      sc.flags |= FTSC_SC_NEVER_RETRY;
    sc.nonblock_mask = tr.nonblock_mask;
    if (tr.protocol_errnos.size() > FTSC_PROTOCOL_ERRNOS ||
        tr.nonblock_cmds.size() > FTSC_NONBLOCK_CMDS)
      return compile_error(
          fmt::format("knowledge base entry for {} has more protocol errnos or "
                      "commands than the ABI holds",
                      tr.name));
    for (size_t i = 0; i < tr.protocol_errnos.size(); ++i)
      sc.protocol_errnos[i] = static_cast<uint8_t>(tr.protocol_errnos[i]);
    for (size_t i = 0; i < FTSC_NONBLOCK_CMDS; ++i)
      sc.nonblock_cmds[i] = i < tr.nonblock_cmds.size() ? tr.nonblock_cmds[i] : -1;
  }

  if (policy.schedules.size() > FTSC_SCHEDULES_MAX)
    return compile_error(fmt::format("{} backoff schedules, at most {}", policy.schedules.size(),
                                     FTSC_SCHEDULES_MAX));
  p.n_schedules = static_cast<uint32_t>(policy.schedules.size());
  for (size_t i = 0; i < policy.schedules.size(); ++i) {
    const Schedule& s = policy.schedules[i];
    ftsc_schedule& out_s = p.schedules[i];
    if (s.delays.size() > FTSC_DELAYS_MAX)
      return compile_error(
          fmt::format("a backoff has {} delays, at most {}", s.delays.size(), FTSC_DELAYS_MAX));
    out_s.n_delays = static_cast<uint32_t>(s.delays.size());
    out_s.jitter_ppm = static_cast<uint32_t>(std::lround(std::clamp(s.jitter, 0.0, 1.0) * 1e6));
    out_s.deadline_ns = s.deadline ? static_cast<uint64_t>(s.deadline->count()) : 0;
    for (size_t d = 0; d < s.delays.size(); ++d)
      out_s.delay_ns[d] = static_cast<uint64_t>(s.delays[d].count());
  }

  for (const auto& [key, c] : policy.cells) {
    auto [nr, err] = key;
    if (nr < 0 || nr >= static_cast<int>(FTSC_NR_LIMIT) || err <= 0 ||
        err >= static_cast<int>(FTSC_ERRNO_LIMIT))
      return compile_error(fmt::format("cell ({}, {}) is outside the compiled table", nr, err));
    unsigned schedule = c.decision == CellDecision::kRetry ? static_cast<unsigned>(c.schedule) : 0;
    p.cells[nr][err] = FTSC_CELL_MAKE(static_cast<unsigned>(c.decision), schedule);
    if (c.decision == CellDecision::kRetry && !(p.syscalls[nr].flags & FTSC_SC_NEVER_RETRY))
      p.syscalls[nr].flags |= FTSC_SC_IN_POLICY;
  }

  if (policy.injects.size() > FTSC_INJECTS_MAX)
    return compile_error(
        fmt::format("{} injections, at most {}", policy.injects.size(), FTSC_INJECTS_MAX));
  p.n_injects = static_cast<uint32_t>(policy.injects.size());
  for (size_t i = 0; i < policy.injects.size(); ++i) {
    const InjectPlanEntry& e = policy.injects[i];
    ftsc_inject& in = p.injects[i];
    in.nr = static_cast<uint16_t>(e.nr);
    in.error = static_cast<uint16_t>(e.error);
    in.first = e.first;
    in.last = e.last;
    in.step = e.step;
    in.seed = e.seed;
    if (e.probability) {
      in.flags |= FTSC_INJ_PROBABILITY;
      double scaled = std::ldexp(std::clamp(*e.probability, 0.0, 1.0), 32);
      in.p_scaled = scaled >= 4294967295.0 ? 0xffffffffu : static_cast<uint32_t>(scaled);
    }
    p.syscalls[e.nr].flags |= FTSC_SC_INJECT;
  }

  int invalid = ftsc_policy_validate(&p, sizeof p);
  if (invalid != FTSC_POLICY_OK)
    return compile_error(fmt::format("internal error: compiled policy is invalid: {}",
                                     ftsc_policy_validate_message(invalid)));
  return out;
}

std::string_view policy_bytes(const ftsc_policy& p) {
  return {reinterpret_cast<const char*>(&p), sizeof p};
}

base::Result<CompiledPolicy> load_compiled(std::string_view bytes) {
  if (bytes.size() != sizeof(ftsc_policy))
    return compile_error(
        fmt::format("compiled policy has {} bytes, expected {}", bytes.size(), sizeof(ftsc_policy)),
        "recompile it with this version of ftsc");
  auto out = std::make_unique<ftsc_policy>();
  std::memcpy(out.get(), bytes.data(), bytes.size());
  int invalid = ftsc_policy_validate(out.get(), bytes.size());
  if (invalid != FTSC_POLICY_OK)
    return compile_error(ftsc_policy_validate_message(invalid),
                         "recompile it with this version of ftsc");
  return out;
}

std::vector<CompiledCell> compiled_cells(const ftsc_policy& p) {
  std::vector<CompiledCell> out;
  for (unsigned nr = 0; nr < FTSC_NR_LIMIT; ++nr)
    for (unsigned err = 0; err < FTSC_ERRNO_LIMIT; ++err) {
      uint8_t c = p.cells[nr][err];
      if (FTSC_CELL_DECISION(c) == FTSC_UNSET)
        continue;
      out.push_back({static_cast<int>(nr), static_cast<int>(err), FTSC_CELL_DECISION(c),
                     FTSC_CELL_SCHEDULE(c)});
    }
  return out;
}

}  // namespace ftsc::policy
