// SPDX-License-Identifier: Apache-2.0
// The TOML policy language, written: a policy as a file that the reader
// (toml_reader.cc) reads back into an equivalent policy.
#include "policy/toml.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "abi/compiled_policy.h"
#include "base/duration.h"

namespace ftsc::policy {
namespace {

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (u < 0x20 || u == 0x7f)
          out += fmt::format("\\u{:04X}", static_cast<unsigned>(u));
        else
          out += c;
    }
  }
  out += '"';
  return out;
}

// A TOML float that reads back as the same double (TOML needs a '.' or an exponent).
std::string float_text(double v) {
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".eEni") == std::string::npos)
    s += ".0";
  return s;
}

std::string names_text(const std::vector<Named>& names) {
  std::string out = "[";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += quoted(names[i].text);
  }
  return out + "]";
}

std::string backoff_text(const BackoffSpec& b) {
  if (b.form == BackoffSpec::Form::kExponential) {
    std::string out = fmt::format("{{ base = {}, factor = {}",
                                  quoted(base::format_duration(b.base)), float_text(b.factor));
    if (b.cap.count() > 0)
      out += fmt::format(", cap = {}", quoted(base::format_duration(b.cap)));
    out += fmt::format(", attempts = {} }}", b.attempts);
    return out;
  }
  std::string out = "[";
  for (size_t i = 0; i < b.delays.size(); ++i) {
    if (i > 0)
      out += ", ";
    out += quoted(base::format_duration(b.delays[i]));
  }
  return out + "]";
}

}  // namespace

std::string write_policy_toml(const PolicySpec& spec) {
  std::string out;
  out += "# ftsc policy (format: docs/policy.md)\n";
  if (!spec.source.empty()) {
    std::string source = spec.source;
    std::replace_if(
        source.begin(), source.end(),
        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, '?');
    out += fmt::format("# written from {}\n", source);
  }
  out += "\nversion = 1\n";
  out += fmt::format("mode = {}\n", quoted(mode_name(spec.mode)));
  if (!spec.injects.empty()) {
    out += "inject = [\n";
    for (const InjectSpec& i : spec.injects)
      out += fmt::format("  {},\n", quoted(i.text));
    out += "]\n";
  }

  out += "\n[defaults]\n";
  out += fmt::format("backoff = {}\n", backoff_text(spec.default_backoff));
  out += fmt::format("jitter = {}\n", float_text(spec.default_jitter));
  if (spec.default_deadline)
    out += fmt::format("deadline = {}\n", quoted(base::format_duration(*spec.default_deadline)));

  out += "\n[budget]\n";
  out += fmt::format("window = {}\n", quoted(base::format_duration(spec.budget.window)));
  out += fmt::format("max_wait = {}\n", quoted(base::format_duration(spec.budget.max_wait)));

  const TargetSpec& t = spec.target;
  if (!t.empty()) {
    out += "\n[target]\n";
    if (t.cgroup)
      out += fmt::format("cgroup = {}\n", quoted(*t.cgroup));
    if (t.uid)
      out += fmt::format("uid = {}\n", *t.uid);
    if (t.comm)
      out += fmt::format("comm = {}\n", quoted(*t.comm));
    if (t.pid)
      out += fmt::format("pid = {}\n", *t.pid);
    if (t.all)
      out += "all = true\n";
  }

  for (const RuleSpec& r : spec.rules) {
    out += "\n[[rule]]\n";
    if (!r.origin.empty() && r.origin != "[[rule]]") {
      std::string from = r.where.str().empty() ? r.origin : r.origin + " at " + r.where.str();
      std::replace_if(
          from.begin(), from.end(),
          [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, '?');
      out += fmt::format("# from {}\n", from);
    }
    out += fmt::format("syscalls = {}\n", names_text(r.syscalls));
    if (!r.retry.empty())
      out += fmt::format("retry = {}\n", names_text(r.retry));
    if (!r.never.empty())
      out += fmt::format("never = {}\n", names_text(r.never));
    if (!r.undecided.empty())
      out += fmt::format("undecided = {}\n", names_text(r.undecided));
    if (!r.not_applicable.empty())
      out += fmt::format("not_applicable = {}\n", names_text(r.not_applicable));
    if (r.backoff)
      out += fmt::format("backoff = {}\n", backoff_text(*r.backoff));
    if (r.jitter)
      out += fmt::format("jitter = {}\n", float_text(*r.jitter));
    if (r.deadline)
      out += fmt::format("deadline = {}\n", quoted(base::format_duration(*r.deadline)));
  }
  return out;
}

}  // namespace ftsc::policy
