// `ftsc policy check`: everything resolve() rejects, plus the warnings the
// knowledge base supports: errnos a man page does not document for the
// syscall, retries of calls that may have had side effects when they failed,
// of calls that write memory even when they fail, of EINTR, of protocol errnos
// such as EAGAIN (guarded at run time), and undecided `?` cells.
#pragma once

#include <vector>

#include "core/diagnostic.h"
#include "core/effective_policy.h"
#include "core/knowledge_base.h"

namespace ftsc::core {

// Warnings and notes about a resolved policy (resolve() reports the errors).
std::vector<Diagnostic> lint(const EffectivePolicy& policy, const KnowledgeBase& kb);

// resolve() + lint(), sorted by file position. Errors make the policy unusable.
struct CheckResult {
  EffectivePolicy policy;
  std::vector<Diagnostic> diags;
  bool ok() const { return !has_errors(diags); }
};
CheckResult check_policy(const PolicySpec& spec, const KnowledgeBase& kb);

// A sentence describing when a syscall's protocol errnos pass through (its guards),
// e.g. "when the fd is non-blocking (O_NONBLOCK) or the flags contain MSG_DONTWAIT".
std::string describe_guards(const SyscallTraits& t);

}  // namespace ftsc::core
