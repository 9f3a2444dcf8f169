// SPDX-License-Identifier: Apache-2.0
// The fault plan: for every syscall the golden run called, every candidate
// errno, at a few occurrences of the call, one fault each; bounded by
// --max-runs with a deterministic, seeded sample (docs/campaign.md, "The plan").
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "base/result.h"
#include "campaign/campaign.h"
#include "kb/knowledge_base.h"

namespace ftsc::campaign {

struct PlanOptions {
  std::vector<int> syscalls;  // only these (empty: every syscall called)
  std::vector<int> errnos;    // these errnos for every syscall (empty: the knowledge base's)
  bool all_errnos = false;    // every errno the man page documents, transient or not
  unsigned occurrences = 1;   // between the first and the last occurrence
  size_t max_runs = 300;
  uint64_t seed = 0;
};

struct Plan {
  std::vector<Fault> faults;  // sorted by syscall, errno, occurrence
  size_t planned = 0;         // before sampling
};

// The errnos a fault of syscall nr is injected with, by default: those its man
// page documents that the knowledge base marks plausibly transient for it.
std::vector<int> candidate_errnos(const kb::SyscallTraits& t, const PlanOptions& options);

// The occurrences of a call made `calls` times: the first, the last and up to
// `between` spread evenly between them.
std::vector<uint64_t> occurrences_of(uint64_t calls, unsigned between);

// calls: syscall nr -> calls in the golden run. The command's own execve (the
// first one) is left out: failing it is ftsc failing to start the command.
Plan make_plan(const std::map<int, uint64_t>& calls, const kb::KnowledgeBase& kb,
               const PlanOptions& options);

}  // namespace ftsc::campaign
