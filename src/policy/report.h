// SPDX-License-Identifier: Apache-2.0
// Human-readable views of an effective policy: the matrix `ftsc policy show`
// prints, the reasoning `ftsc policy explain` gives for one (syscall, errno),
// and the conversion to the paper's matrix format for export.
#pragma once

#include <string>

#include "kb/knowledge_base.h"
#include "policy/effective_policy.h"
#include "policy/matrix.h"

namespace ftsc::policy {

// The effective matrix: a row per syscall, a column per errno, the schedules,
// injections, budget, mode and target.
std::string render_policy_table(const EffectivePolicy& policy, const kb::KnowledgeBase& kb);

// What happens when syscall nr fails with err, and why: the rule, the guards,
// the schedule. The first line is the verdict ("openat ENOENT: retried").
std::string explain_cell(const EffectivePolicy& policy, const kb::KnowledgeBase& kb, int nr,
                         int err);

// The effective matrix as a paper-style table (y / n / ? / -).
MatrixTable to_matrix(const EffectivePolicy& policy);

}  // namespace ftsc::policy
