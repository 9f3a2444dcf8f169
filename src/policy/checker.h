// SPDX-License-Identifier: Apache-2.0
// `ftsc policy check`: everything resolve() rejects, plus the warnings the
// knowledge base supports: errnos a man page does not document for the
// syscall, retries of calls that may have had side effects when they failed,
// of calls that write memory even when they fail, of EINTR, of protocol errnos
// such as EAGAIN (guarded at run time), and undecided `?` cells.
#pragma once

#include <vector>

#include "base/diagnostic.h"
#include "kb/knowledge_base.h"
#include "policy/effective_policy.h"

namespace ftsc::policy {

// Warnings and notes about a resolved policy (resolve() reports the errors).
std::vector<base::Diagnostic> lint(const EffectivePolicy& policy, const kb::KnowledgeBase& kb);

// resolve() + lint(), sorted by file position. Errors make the policy unusable.
struct CheckResult {
  EffectivePolicy policy;
  std::vector<base::Diagnostic> diags;
  bool ok() const { return !base::has_errors(diags); }
};
CheckResult check_policy(const PolicySpec& spec, const kb::KnowledgeBase& kb);

// A sentence describing when a syscall's protocol errnos pass through (its guards),
// e.g. "when the fd is non-blocking (O_NONBLOCK) or the flags contain MSG_DONTWAIT".
std::string describe_guards(const kb::SyscallTraits& t);

}  // namespace ftsc::policy
