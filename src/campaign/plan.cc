// SPDX-License-Identifier: Apache-2.0
#include "campaign/plan.h"

#include <sys/syscall.h>

#include <algorithm>
#include <tuple>

#include "abi/compiled_policy.h"

namespace ftsc::campaign {

std::vector<int> candidate_errnos(const kb::SyscallTraits& t, const PlanOptions& options) {
  std::vector<int> out;
  if (!options.errnos.empty()) {
    out = options.errnos;
  } else {
    for (int err : t.documented)
      if (options.all_errnos || t.is_transient(err))
        out.push_back(err);
  }
  std::erase_if(out, [](int e) { return e <= 0 || e > static_cast<int>(FTSC_INJECT_ERRNO_MAX); });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<uint64_t> occurrences_of(uint64_t calls, unsigned between) {
  std::vector<uint64_t> out;
  if (calls == 0)
    return out;
  out.push_back(1);
  for (unsigned i = 1; i <= between && calls > 2; ++i)
    out.push_back(1 + (i * (calls - 1) + (between + 1) / 2) / (between + 1));
  out.push_back(calls);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Plan make_plan(const std::map<int, uint64_t>& calls, const kb::KnowledgeBase& kb,
               const PlanOptions& options) {
  struct Candidate {
    Fault fault;
    size_t rank_in_cell;  // 0 for a cell's first occurrence
    uint64_t key;         // the seeded sample order
  };
  std::vector<Candidate> all;
  for (const auto& [nr, n] : calls) {
    if (nr < 0 || static_cast<unsigned>(nr) >= FTSC_NR_LIMIT || n == 0)
      continue;
    if (!options.syscalls.empty() &&
        std::find(options.syscalls.begin(), options.syscalls.end(), nr) == options.syscalls.end())
      continue;
    const kb::SyscallTraits* t = kb.syscall(nr);
    if (t == nullptr)
      continue;
    std::vector<uint64_t> when = occurrences_of(n, options.occurrences);
    if (nr == SYS_execve || nr == SYS_execveat)
      std::erase(when, 1);
    for (int err : candidate_errnos(*t, options)) {
      for (size_t i = 0; i < when.size(); ++i) {
        Fault f{nr, err, when[i]};
        uint64_t key =
            ftsc_mix64(options.seed ^ ftsc_mix64((static_cast<uint64_t>(nr) << 48) ^
                                                 (static_cast<uint64_t>(err) << 36) ^ when[i]));
        all.push_back({f, i, key});
      }
    }
  }
  Plan plan;
  plan.planned = all.size();
  if (all.size() > options.max_runs) {
    // Every cell's first occurrence before any cell's second: as many
    // (syscall, errno) cells as the bound allows, then a seeded choice.
    std::sort(all.begin(), all.end(), [](const Candidate& a, const Candidate& b) {
      return std::tie(a.rank_in_cell, a.key) < std::tie(b.rank_in_cell, b.key);
    });
    all.resize(options.max_runs);
  }
  for (const Candidate& c : all)
    plan.faults.push_back(c.fault);
  std::sort(plan.faults.begin(), plan.faults.end(), [](const Fault& a, const Fault& b) {
    return std::tie(a.nr, a.err, a.occurrence) < std::tie(b.nr, b.err, b.occurrence);
  });
  return plan;
}

}  // namespace ftsc::campaign
