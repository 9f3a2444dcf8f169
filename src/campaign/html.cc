// SPDX-License-Identifier: Apache-2.0
#include "campaign/html.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "campaign/table.h"
#include "profile/html.h"
#include "profile/html_templates.h"
#include "profile/profile.h"

namespace ftsc::campaign {
namespace {

using profile::html_escape;

// One colour per outcome, worst the most alarming.
constexpr std::string_view kCampaignStyle =
    "<style>\n"
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}\n"
    "h1{font-size:1.35em}h2{font-size:1.1em;margin-top:2em}\n"
    "table{border-collapse:collapse;margin-top:.5em}td,th{padding:.15em .6em;"
    "border-bottom:1px solid #eee;text-align:left}td.n{text-align:right}\n"
    "table.matrix td.cell{text-align:center;min-width:4.5em;border:1px solid #fff}\n"
    ".o-tolerated{background:#b7e1a1}.o-handled{background:#aed6f1}"
    ".o-hung{background:#f9e79f}.o-crashed{background:#f5b041}"
    ".o-corrupted{background:#e74c3c;color:#fff}\n"
    ".key{display:inline-block;padding:0 .5em;margin-right:.4em}\n"
    "pre{margin:0;white-space:pre-wrap;font-size:12px}\n"
    "</style>\n</head>\n<body>\n";

// Counts the matrix cells the browser painted in their outcome's colour, per
// matrix, for tests and for a reader who wonders whether the page rendered.
constexpr std::string_view kPaintedCellsScript =
    "<script>\n"
    "(function () {\n"
    "  var probe = document.createElement('span');\n"
    "  document.body.appendChild(probe);\n"
    "  function colour(o) { probe.className = 'o-' + o; "
    "return getComputedStyle(probe).backgroundColor; }\n"
    "  ['before', 'after'].forEach(function (id) {\n"
    "    var m = document.getElementById(id);\n"
    "    if (!m) return;\n"
    "    var n = Array.from(m.querySelectorAll('td.cell[data-worst]')).filter(function (td) {\n"
    "      var r = td.getBoundingClientRect();\n"
    "      return r.width > 0 && r.height > 0 && "
    "getComputedStyle(td).backgroundColor === colour(td.dataset.worst);\n"
    "    }).length;\n"
    "    document.documentElement.dataset['painted' + id[0].toUpperCase() + id.slice(1)] = n;\n"
    "  });\n"
    "  probe.remove();\n"
    "})();\n"
    "</script>\n";

std::string tally_title(const Tally& t) {
  std::string out;
  for (Outcome o : kWorstFirst)
    if (t[o] > 0)
      out += fmt::format("{}{} {}", out.empty() ? "" : ", ", t[o], outcome_name(o));
  return out;
}

std::string matrix(const Campaign& c, int pass, const char* id) {
  std::vector<Cell> cells = cells_of(c);
  std::set<int> errnos;
  std::map<int, std::map<int, const Cell*>> rows;
  for (const Cell& cell : cells) {
    const Tally& t = pass == 1 ? cell.first : cell.second;
    if (t.total() == 0)
      continue;
    errnos.insert(cell.err);
    rows[cell.nr][cell.err] = &cell;
  }
  if (rows.empty())
    return "<p>No run.</p>\n";
  std::string html = fmt::format("<table class=\"matrix\" id=\"{}\">\n<tr><th>syscall</th>", id);
  for (int err : errnos)
    html += fmt::format("<th>{}</th>", profile::profile_errno_label(err));
  html += "</tr>\n";
  for (const auto& [nr, by_err] : rows) {
    std::string name = profile::profile_syscall_label(nr);
    html += fmt::format("<tr><td>{}</td>", html_escape(name));
    for (int err : errnos) {
      auto it = by_err.find(err);
      if (it == by_err.end()) {
        html += "<td></td>";
        continue;
      }
      const Tally& t = pass == 1 ? it->second->first : it->second->second;
      std::string worst(outcome_name(it->second->worst(pass)));
      html += fmt::format(
          "<td class=\"cell o-{0}\" data-worst=\"{0}\" title=\"{1} {2}: {3}\">{4}/{5}</td>", worst,
          html_escape(name), profile::profile_errno_label(err), tally_title(t),
          t[Outcome::kTolerated], t.total());
    }
    html += "</tr>\n";
  }
  return html + "</table>\n";
}

}  // namespace

std::string format_campaign_html(const Campaign& c) {
  std::string command;
  for (const std::string& a : c.command)
    command += (command.empty() ? "" : " ") + a;
  std::string html(profile::html::kHead);
  html += fmt::format("<title>ftsc campaign: {}</title>\n", html_escape(command));
  html += kCampaignStyle;
  html += fmt::format("<h1>ftsc campaign: <code>{}</code></h1>\n", html_escape(command));
  html += fmt::format("<p id=\"summary\">{}</p>\n", html_escape(format_summary(c)));
  html += fmt::format(
      "<p>Golden run: exit status {}, {:.2f}s; started {}; timeout {:.1f}s; {} faults planned, "
      "{} run.</p>\n",
      c.golden.observed.exit_status, c.golden.duration_s, html_escape(c.started), c.timeout_s,
      c.planned, c.plan.size());
  html += "<p>";
  for (Outcome o : kWorstFirst)
    html += fmt::format("<span class=\"key o-{0}\">{0}</span>", outcome_name(o));
  html += "</p>\n<p>Each cell: tolerated runs / runs, coloured by the worst outcome.</p>\n";
  html += "<h2>Each fault alone</h2>\n" + matrix(c, 1, "before");
  if (!c.policy_source.empty()) {
    html += fmt::format("<h2>With the policy ({})</h2>\n",
                        html_escape(c.policy_source == "derived" ? "derived from the first pass"
                                                                 : c.policy_source));
    html += matrix(c, 2, "after");
    html += "<details><summary>The policy</summary><pre>" + html_escape(c.policy_text) +
            "</pre></details>\n";
  }
  html +=
      "<h2>Runs</h2>\n<table id=\"runs\">\n<tr><th>pass</th><th>syscall</th><th>errno</th>"
      "<th>occurrence</th><th>outcome</th><th>exit</th><th>seconds</th><th>standard error "
      "(end)</th></tr>\n";
  for (const Run& r : c.runs) {
    std::string outcome =
        r.error.empty() ? std::string(outcome_name(r.outcome)) : "error: " + r.error;
    std::string exit = r.term_signal != 0 ? fmt::format("signal {}", r.term_signal)
                                          : fmt::format("{}", r.exit_status);
    html += fmt::format(
        "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td>"
        "<td class=\"o-{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:.3f}</td>"
        "<td><pre>{}</pre></td></tr>\n",
        r.pass, profile::profile_syscall_label(r.fault.nr),
        profile::profile_errno_label(r.fault.err), r.fault.occurrence,
        r.error.empty() ? outcome_name(r.outcome) : "error", html_escape(outcome), exit,
        r.duration_s, html_escape(r.stderr_tail));
  }
  html += "</table>\n";
  html += kPaintedCellsScript;
  html += profile::html::kTail;
  return html;
}

}  // namespace ftsc::campaign
