// SPDX-License-Identifier: Apache-2.0
#include "profile/table.h"

#include <algorithm>
#include <map>
#include <vector>

#include <fmt/format.h>

namespace ftsc::profile {
namespace {

std::string percent(double ratio) {
  if (ratio == 0)
    return "0%";
  if (ratio < 0.001)
    return "<0.1%";
  return fmt::format("{:.1f}%", ratio * 100);
}

std::string quoted_command(const std::vector<std::string>& argv) {
  std::string out;
  for (const std::string& a : argv) {
    if (!out.empty())
      out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`*?[]{}()<>|&;") == std::string::npos;
    out += plain ? a : "'" + a + "'";
  }
  return out;
}

std::string describe(const Profile& p) {
  std::string what;
  if (p.scope == "command")
    what = fmt::format("command `{}`", quoted_command(p.command));
  else if (p.scope == "system")
    what = p.filter.empty() ? "the whole system" : "the system, " + p.filter;
  else
    what = p.source.empty() ? p.scope : "audit log " + p.source;
  std::string line = fmt::format("ftsc profile ({}): {}, {:.2f}s", p.tracer, what, p.duration_s);
  if (p.exit_status)
    line += fmt::format(", exit status {}", *p.exit_status);
  if (p.interrupted)
    line += ", interrupted";
  return line;
}

// Lines of cells, left-aligned first column, the rest as `right` says.
std::string render(const std::vector<std::vector<std::string>>& cells,
                   const std::vector<bool>& right) {
  std::vector<size_t> width;
  for (const auto& line : cells) {
    width.resize(std::max(width.size(), line.size()), 0);
    for (size_t i = 0; i < line.size(); ++i)
      width[i] = std::max(width[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      bool last = i + 1 == line.size();
      if (i > 0)
        text += "  ";
      if (i < right.size() && right[i])
        text += fmt::format("{:>{}}", line[i], width[i]);
      else
        text += last ? line[i] : fmt::format("{:<{}}", line[i], width[i]);
    }
    while (!text.empty() && text.back() == ' ')
      text.pop_back();
    out += "  " + text + "\n";
  }
  return out;
}

}  // namespace

std::string format_profile_table(const Profile& p, size_t max_rows) {
  const ProfileCounts& c = p.counts;
  std::vector<SyscallSummary> rows = summarize_syscalls(c);
  size_t failing =
      std::count_if(rows.begin(), rows.end(), [](const SyscallSummary& s) { return s.failures; });
  uint64_t calls = c.total_calls();
  uint64_t failures = c.total_failures();
  std::string out = describe(p) + "\n";
  out += fmt::format(
      "  {} calls of {} syscalls, {} failed ({}), {} syscall{} with failures\n", calls, rows.size(),
      failures, percent(calls ? static_cast<double>(failures) / static_cast<double>(calls) : 0),
      failing, failing == 1 ? "" : "s");
  if (c.dropped)
    out += fmt::format("  {} failures were not counted: the kernel's table was full\n", c.dropped);
  if (c.uncounted)
    out += fmt::format("  {} calls had numbers outside the x86_64 syscall table\n", c.uncounted);
  if (rows.empty())
    return out;

  size_t shown = max_rows == 0 ? rows.size() : std::min(rows.size(), std::max(max_rows, failing));
  std::vector<std::vector<std::string>> cells = {{"syscall", "calls", "failed", "ratio", "errnos"}};
  for (size_t i = 0; i < shown; ++i) {
    const SyscallSummary& s = rows[i];
    std::string errnos;
    for (size_t k = 0; k < s.errnos.size() && k < 3; ++k)
      errnos += fmt::format("{}{} {}", k ? ", " : "", profile_errno_label(s.errnos[k].err),
                            s.errnos[k].count);
    if (s.errnos.size() > 3)
      errnos += fmt::format(", {} more", s.errnos.size() - 3);
    cells.push_back({profile_syscall_label(s.nr), fmt::format("{}", s.calls),
                     fmt::format("{}", s.failures), percent(s.failure_ratio()), errnos});
  }
  out += "\n" + render(cells, {false, true, true, true, false});
  if (shown < rows.size())
    out += fmt::format("  ... and {} more syscalls without failures\n", rows.size() - shown);

  std::vector<ProcessSummary> procs = summarize_processes(c);
  if (!procs.empty()) {
    std::vector<std::vector<std::string>> pcells = {{"process", "failed", "most frequent"}};
    for (const ProcessSummary& ps : procs) {
      std::string top;
      for (size_t k = 0; k < ps.items.size() && k < 3; ++k)
        top += fmt::format("{}{} {} {}", k ? ", " : "", profile_syscall_label(ps.items[k].nr),
                           profile_errno_label(ps.items[k].err), ps.items[k].count);
      if (ps.items.size() > 3)
        top += fmt::format(", {} more", ps.items.size() - 3);
      pcells.push_back({ps.comm, fmt::format("{}", ps.failures), top});
    }
    out += "\n" + render(pcells, {false, true, false});
  }
  return out;
}

std::string format_profile_live(const ProfileCounts& counts, double elapsed_s, size_t width) {
  uint64_t failures = counts.total_failures();
  std::string line = fmt::format("ftsc profile: {:.1f}s, {} calls, {} failed", elapsed_s,
                                 counts.total_calls(), failures);
  std::map<std::pair<int, int>, uint64_t> by_pair;
  for (const ProfileFailure& f : counts.failures)
    by_pair[{f.nr, f.err}] += f.count;
  std::vector<std::pair<std::pair<int, int>, uint64_t>> top(by_pair.begin(), by_pair.end());
  std::stable_sort(top.begin(), top.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  for (size_t i = 0; i < top.size() && i < 3; ++i)
    line += fmt::format("{}{} {} {}", i ? ", " : ": ", profile_syscall_label(top[i].first.first),
                        profile_errno_label(top[i].first.second), top[i].second);
  if (line.size() > width && width > 3)
    line = line.substr(0, width - 3) + "...";
  return line;
}

}  // namespace ftsc::profile
