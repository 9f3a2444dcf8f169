// SPDX-License-Identifier: Apache-2.0
#include "campaign/table.h"

#include <algorithm>
#include <map>
#include <tuple>

#include <fmt/format.h>

#include "profile/profile.h"

namespace ftsc::campaign {

Outcome Cell::worst(int pass) const {
  const Tally& t = pass == 1 ? first : second;
  for (Outcome o : kWorstFirst)
    if (t[o] > 0)
      return o;
  return Outcome::kTolerated;
}

std::vector<Cell> cells_of(const Campaign& c) {
  std::map<std::pair<int, int>, Cell> by;
  for (const Run& r : c.runs) {
    if (!r.error.empty())
      continue;
    Cell& cell = by[{r.fault.nr, r.fault.err}];
    cell.nr = r.fault.nr;
    cell.err = r.fault.err;
    (r.pass == 1 ? cell.first : cell.second).add(r.outcome);
  }
  std::vector<Cell> out;
  for (auto& [key, cell] : by)
    out.push_back(cell);
  std::stable_sort(out.begin(), out.end(), [](const Cell& a, const Cell& b) {
    Outcome wa = a.worst(1), wb = b.worst(1);
    if (wa != wb)
      return severity(wa) > severity(wb);
    return a.first[wa] > b.first[wb];
  });
  return out;
}

std::string format_campaign_table(const Campaign& c) {
  const bool second = !c.policy_source.empty();
  std::string out =
      fmt::format("{:<18} {:<14} {:>5} {:>9} {:>7} {:>4} {:>7} {:>9}", "SYSCALL", "ERRNO", "RUNS",
                  "CORRUPTED", "CRASHED", "HUNG", "HANDLED", "TOLERATED");
  if (second)
    out += "  WITH POLICY";
  out += "\n";
  for (const Cell& cell : cells_of(c)) {
    out += fmt::format(
        "{:<18} {:<14} {:>5} {:>9} {:>7} {:>4} {:>7} {:>9}",
        profile::profile_syscall_label(cell.nr), profile::profile_errno_label(cell.err),
        cell.first.total(), cell.first[Outcome::kCorrupted], cell.first[Outcome::kCrashed],
        cell.first[Outcome::kHung], cell.first[Outcome::kHandled], cell.first[Outcome::kTolerated]);
    if (second && cell.second.total() > 0)
      out +=
          fmt::format("  {}/{} tolerated", cell.second[Outcome::kTolerated], cell.second.total());
    out += "\n";
  }
  size_t errors = 0;
  for (const Run& r : c.runs)
    errors += !r.error.empty();
  if (errors > 0)
    out += fmt::format("{} run{} could not be made (see the JSON's \"error\")\n", errors,
                       errors == 1 ? "" : "s");
  out += format_summary(c) + "\n";
  return out;
}

}  // namespace ftsc::campaign
