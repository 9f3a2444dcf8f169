// SPDX-License-Identifier: Apache-2.0
#include "profile/html.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "profile/html_templates.h"
#include "profile/table.h"

namespace ftsc::profile {

std::string html_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

namespace {

using namespace html;  // the report's geometry and palette

std::vector<SyscallSummary> shown_syscalls(const Profile& p) {
  std::vector<SyscallSummary> rows = summarize_syscalls(p.counts);
  if (rows.size() > kMaxSyscalls)
    rows.resize(kMaxSyscalls);
  return rows;
}

// x of a count on a log10 axis from 1 to `top` (a power of ten); 0 stays at 0.
double log_x(uint64_t n, double top) {
  if (n == 0)
    return 0;
  return kPlotWidth * (std::log10(static_cast<double>(n)) + 1) / (std::log10(top) + 1);
}

std::string outcome_chart(const Profile& p) {
  std::vector<SyscallSummary> rows = shown_syscalls(p);
  if (rows.empty())
    return "<p>No syscall was counted.</p>\n";
  uint64_t max = 1;
  for (const SyscallSummary& s : rows)
    max = std::max(max, s.calls);
  double top = std::pow(10.0, std::ceil(std::log10(static_cast<double>(max))));
  if (top < 10)
    top = 10;
  int height = 40 + static_cast<int>(rows.size()) * kRow;
  std::string svg = fmt::format(
      "<svg class=\"chart\" id=\"outcomes\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"successes and failures per syscall\">\n",
      kLabelWidth + kPlotWidth + 90, height);
  // Decades of the log axis.
  for (double tick = 1; tick <= top; tick *= 10) {
    double x = kLabelWidth + log_x(static_cast<uint64_t>(tick), top);
    svg += fmt::format(
        "<line x1=\"{0:.1f}\" y1=\"18\" x2=\"{0:.1f}\" y2=\"{1}\" class=\"grid\"/>"
        "<text x=\"{0:.1f}\" y=\"12\" class=\"tick\">{2}</text>\n",
        x, height - 10,
        tick >= 1e6 ? fmt::format("1e{}", static_cast<int>(std::log10(tick)))
                    : fmt::format("{}", static_cast<uint64_t>(tick)));
  }
  int y = 24;
  for (const SyscallSummary& s : rows) {
    std::string name = html_escape(profile_syscall_label(s.nr));
    uint64_t ok = s.calls - s.failures;
    svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"label\">{}</text>\n", kLabelWidth - 8,
                       y + 15, name);
    struct Bar {
      uint64_t n;
      const char* cls;
      const char* what;
      int dy;
    } bars[] = {{ok, "bar ok", "succeeded", 0}, {s.failures, "bar failed", "failed", 11}};
    for (const Bar& b : bars) {
      if (b.n == 0)
        continue;
      double w = std::max(1.5, log_x(b.n, top));
      svg += fmt::format(
          "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{:.1f}\" height=\"10\">"
          "<title>{} {}: {}</title></rect>"
          "<text x=\"{:.1f}\" y=\"{}\" class=\"value\">{}</text>\n",
          b.cls, kLabelWidth, y + b.dy, w, name, b.what, b.n, kLabelWidth + w + 4, y + b.dy + 9,
          b.n);
    }
    y += kRow;
  }
  svg += "</svg>\n";
  return svg;
}

std::string errno_chart(const Profile& p, std::map<int, std::string>& colors) {
  std::vector<SyscallSummary> rows = summarize_syscalls(p.counts);
  std::erase_if(rows, [](const SyscallSummary& s) { return s.failures == 0; });
  if (rows.empty())
    return "<p>No syscall failed.</p>\n";
  if (rows.size() > kMaxBreakdown)
    rows.resize(kMaxBreakdown);
  for (const SyscallSummary& s : rows)
    for (const ErrnoCount& e : s.errnos)
      if (!colors.count(e.err))
        colors[e.err] = kPalette[colors.size() % std::size(kPalette)];
  uint64_t max = rows.front().failures;
  int height = 10 + static_cast<int>(rows.size()) * kRow;
  std::string svg = fmt::format(
      "<svg class=\"chart\" id=\"errnos\" width=\"{}\" height=\"{}\" role=\"img\" "
      "aria-label=\"failures per syscall by errno\">\n",
      kLabelWidth + kPlotWidth + 90, height);
  int y = 6;
  for (const SyscallSummary& s : rows) {
    std::string name = html_escape(profile_syscall_label(s.nr));
    svg += fmt::format("<text x=\"{}\" y=\"{}\" class=\"label\">{}</text>\n", kLabelWidth - 8,
                       y + 14, name);
    double x = kLabelWidth;
    for (const ErrnoCount& e : s.errnos) {
      double w =
          std::max(1.0, kPlotWidth * static_cast<double>(e.count) / static_cast<double>(max));
      std::string err = profile_errno_label(e.err);
      svg += fmt::format(
          "<rect class=\"segment\" x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"18\" "
          "fill=\"{}\"><title>{} {}: {}</title></rect>\n",
          x, y, w, colors[e.err], name, err, e.count);
      x += w;
    }
    svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" class=\"value\">{}</text>\n", x + 4, y + 14,
                       s.failures);
    y += kRow;
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace

size_t profile_html_bar_count(const Profile& p) {
  size_t n = 0;
  for (const SyscallSummary& s : shown_syscalls(p))
    n += (s.calls > s.failures) + (s.failures > 0);
  return n;
}

std::string format_profile_html(const Profile& p) {
  std::string table = format_profile_table(p, 1);
  std::string heading = table.substr(0, table.find('\n'));
  uint64_t calls = p.counts.total_calls(), failures = p.counts.total_failures();
  std::string html;
  html += html::kHead;
  html += fmt::format("<title>{}</title>\n", html_escape(heading));
  html += html::kStyle;
  html += fmt::format("<h1>{}</h1>\n", html_escape(heading));
  html += fmt::format(
      "<p id=\"summary\">{} calls, {} failed ({:.2f}%), in {} syscalls; tracer {}{}.</p>\n", calls,
      failures, calls ? 100.0 * static_cast<double>(failures) / static_cast<double>(calls) : 0.0,
      summarize_syscalls(p.counts).size(), html_escape(p.tracer),
      p.started.empty() ? "" : ", started " + html_escape(p.started));
  if (p.counts.dropped)
    html += fmt::format("<p>{} failures were not counted: the kernel's table was full.</p>\n",
                        p.counts.dropped);

  html += "<h2>Successes and failures per syscall</h2>\n";
  html +=
      "<p><span class=\"key ok\"></span>succeeded<span class=\"key failed\"></span>failed"
      " &mdash; logarithmic scale";
  if (summarize_syscalls(p.counts).size() > kMaxSyscalls)
    html += fmt::format(", the first {} syscalls by failures and calls", kMaxSyscalls);
  html += "</p>\n";
  html += outcome_chart(p);

  html += "<h2>Failures by errno</h2>\n";
  std::map<int, std::string> colors;
  std::string chart = errno_chart(p, colors);
  if (!colors.empty()) {
    html += "<p id=\"legend\">";
    for (const auto& [err, color] : colors)
      html += fmt::format("<span class=\"key\" style=\"background:{}\"></span>{}", color,
                          profile_errno_label(err));
    html += "</p>\n";
  }
  html += chart;

  html +=
      "<h2>Syscalls</h2>\n<table id=\"syscalls\">\n<tr><th>syscall</th><th>calls</th>"
      "<th>failed</th><th>ratio</th><th>errnos</th></tr>\n";
  for (const SyscallSummary& s : summarize_syscalls(p.counts)) {
    std::string errnos;
    for (const ErrnoCount& e : s.errnos)
      errnos +=
          fmt::format("{}{} {}", errnos.empty() ? "" : ", ", profile_errno_label(e.err), e.count);
    html += fmt::format(
        "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.1f}%"
        "</td><td>{}</td></tr>\n",
        html_escape(profile_syscall_label(s.nr)), s.calls, s.failures, s.failure_ratio() * 100,
        errnos);
  }
  html += "</table>\n";
  std::vector<ProcessSummary> procs = summarize_processes(p.counts);
  if (!procs.empty()) {
    html +=
        "<h2>Processes with failures</h2>\n<table id=\"processes\">\n<tr><th>process</th>"
        "<th>failed</th><th>calls that failed</th></tr>\n";
    for (const ProcessSummary& ps : procs) {
      std::string items;
      for (const ProcessSummary::Item& i : ps.items)
        items += fmt::format("{}{} {} {}", items.empty() ? "" : ", ", profile_syscall_label(i.nr),
                             profile_errno_label(i.err), i.count);
      html += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n",
                          html_escape(ps.comm), ps.failures, html_escape(items));
    }
    html += "</table>\n";
  }
  html += html::kDrawnBarsScript;
  html += html::kTail;
  return html;
}

}  // namespace ftsc::profile
