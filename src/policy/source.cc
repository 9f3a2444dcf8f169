// SPDX-License-Identifier: Apache-2.0
#include "policy/source.h"

#include <fmt/format.h>

#include "policy/cli_rules.h"
#include "policy/inject_grammar.h"
#include "policy/matrix.h"
#include "policy/toml.h"

namespace ftsc::policy {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

base::Diagnostic from_error(const base::Error& e, base::Severity s = base::Severity::kError) {
  return base::Diagnostic{s, e.where, e.message, e.hint};
}

}  // namespace

PolicyFormat detect_policy_format(std::string_view file, std::string_view text) {
  if (ends_with(file, ".toml"))
    return PolicyFormat::kToml;
  if (ends_with(file, ".tsv") || ends_with(file, ".txt") || ends_with(file, ".matrix"))
    return PolicyFormat::kMatrix;
  // No telling name: a text with a tab-separated table and no TOML table header is a matrix.
  bool has_tab_line = false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    std::string_view line =
        text.substr(start, end == std::string_view::npos ? text.npos : end - start);
    if (!line.empty() && line.front() == '[')
      return PolicyFormat::kToml;
    if (line.find('=') != std::string_view::npos && line.find('\t') == std::string_view::npos)
      return PolicyFormat::kToml;
    if (line.find('\t') != std::string_view::npos)
      has_tab_line = true;
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  return has_tab_line ? PolicyFormat::kMatrix : PolicyFormat::kToml;
}

LoadedPolicy parse_policy_text(std::string_view text, std::string_view file, PolicyFormat format,
                               int table) {
  if (format == PolicyFormat::kAuto)
    format = detect_policy_format(file, text);
  LoadedPolicy out;
  if (format == PolicyFormat::kMatrix) {
    base::Result<PolicySpec> r = import_matrix(text, file, table);
    if (r) {
      out.spec = std::move(r.value());
    } else {
      out.spec.source = std::string(file);
      out.diags.push_back(from_error(r.error()));
    }
    return out;
  }
  if (table != 0) {
    out.spec.source = std::string(file);
    out.diags.push_back({base::Severity::kError,
                         {std::string(file), 0, 0},
                         "--table applies to retry matrices, not to TOML policies",
                         "drop --table"});
    return out;
  }
  ParsedPolicy p = parse_policy_toml(text, file);
  out.spec = std::move(p.spec);
  out.diags = std::move(p.diags);
  return out;
}

std::vector<base::Diagnostic> apply_policy_flags(PolicySpec& spec, const PolicyFlags& flags) {
  std::vector<base::Diagnostic> diags;
  if (spec.source.empty())
    spec.source = "command line";
  for (const std::string& r : flags.retry) {
    base::Result<RuleSpec> rule = parse_retry_flag(r);
    if (rule)
      spec.rules.push_back(std::move(rule.value()));
    else
      diags.push_back(from_error(rule.error()));
  }
  if (flags.backoff) {
    base::Result<BackoffSpec> b = parse_backoff_flag(*flags.backoff);
    if (b)
      spec.default_backoff = std::move(b.value());
    else
      diags.push_back(from_error(b.error()));
  }
  for (const std::string& i : flags.inject) {
    base::Result<InjectSpec> in = parse_inject_spec(i, base::SourceLoc{"--inject", 0, 0});
    if (in)
      spec.injects.push_back(std::move(in.value()));
    else
      diags.push_back(from_error(in.error()));
  }
  return diags;
}

}  // namespace ftsc::policy
