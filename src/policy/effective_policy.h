// SPDX-License-Identifier: Apache-2.0
// The effective policy: what a PolicySpec means once every name is checked
// against the syscall table, the errno table and the knowledge base's groups,
// every rule is expanded into (syscall, errno) cells, and conflicts are
// settled. A rule that names a syscall itself overrides a rule that reaches it
// through a %group; two rules of the same kind that disagree are an error.
// The compiler (compiler.h) turns this into the ABI block; `ftsc policy show`
// and `explain` print it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/diagnostic.h"
#include "base/duration.h"
#include "kb/knowledge_base.h"
#include "policy/policy.h"

namespace ftsc::policy {

enum class CellDecision : uint8_t { kUnset = 0, kRetry = 1, kNever = 2, kUndecided = 3 };

const char* decision_name(CellDecision d);  // "retry", "never", "undecided", "unset"

struct Schedule {
  std::vector<base::Nanos> delays;
  double jitter = 0.0;
  std::optional<base::Nanos> deadline;
  bool operator==(const Schedule&) const = default;
  std::string describe() const;  // "10ms, 50ms, 100ms (3 retries, 160ms of waiting at most)"
};

struct EffectiveCell {
  CellDecision decision = CellDecision::kUnset;
  int rule = -1;          // index into spec.rules
  int schedule = -1;      // index into schedules; set for kRetry
  std::string group;      // the %group the rule reached this syscall through, or ""
  base::SourceLoc where;  // the errno entry that decided the cell
  int overridden = -1;    // a group rule this explicit rule overrode, or -1
};

struct InjectPlanEntry {
  int nr = -1;
  int error = 0;
  uint32_t first = 1;
  uint32_t last = UINT32_MAX;
  uint32_t step = 1;
  std::optional<double> probability;
  uint64_t seed = 0;
  int spec = -1;  // index into spec.injects
};

struct EffectivePolicy {
  PolicySpec spec;
  std::map<std::pair<int, int>, EffectiveCell> cells;  // (nr, errno)
  std::vector<Schedule> schedules;
  int default_schedule = 0;
  std::vector<InjectPlanEntry> injects;

  const EffectiveCell* cell(int nr, int err) const;
  std::vector<int> syscalls() const;  // syscalls with at least one cell, by number
  std::vector<int> errnos() const;    // errnos with at least one cell, by value
};

struct Resolved {
  EffectivePolicy policy;
  std::vector<base::Diagnostic> diags;  // errors (unknown names, contradictions, limits)
};

Resolved resolve(const PolicySpec& spec, const kb::KnowledgeBase& kb);

// Resolves a syscall written as a name or a number; nullopt when unknown.
std::optional<int> resolve_syscall_token(std::string_view token);
// Resolves an errno written as a name (or alias) or a number; nullopt when unknown.
std::optional<int> resolve_errno_token(std::string_view token);
// What to say when resolve_errno_token found nothing: a near name, or what is accepted.
std::string errno_hint(std::string_view token);

// The errnos that are always program bugs and never retried.
bool is_program_bug_errno(int err);

}  // namespace ftsc::policy
