// SPDX-License-Identifier: Apache-2.0
// Where a policy comes from: a TOML file or a retry matrix (chosen by the file
// name and content), plus the command-line rules that combine with it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/diagnostic.h"
#include "policy/policy.h"

namespace ftsc::policy {

enum class PolicyFormat { kAuto, kToml, kMatrix };

// A `.toml` file is TOML; a `.tsv`/`.txt`/`.matrix` file, or any text whose
// lines hold tab-separated tables and that is not valid TOML, is a matrix.
PolicyFormat detect_policy_format(std::string_view file, std::string_view text);

struct LoadedPolicy {
  PolicySpec spec;
  std::vector<base::Diagnostic> diags;
};

// Parses `text` (read from `file`) in `format`; table selects a matrix table (1-based, 0: the
// only one).
LoadedPolicy parse_policy_text(std::string_view text, std::string_view file,
                               PolicyFormat format = PolicyFormat::kAuto, int table = 0);

// The command-line rules: --retry (repeatable), --backoff, --inject (repeatable).
struct PolicyFlags {
  std::vector<std::string> retry;
  std::optional<std::string> backoff;
  std::vector<std::string> inject;
  bool empty() const { return retry.empty() && !backoff && inject.empty(); }
};

// Adds the flags to spec: --retry rules after the file's rules, --backoff as the
// default schedule, --inject after the file's injections. Errors name the flag.
std::vector<base::Diagnostic> apply_policy_flags(PolicySpec& spec, const PolicyFlags& flags);

}  // namespace ftsc::policy
