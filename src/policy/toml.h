// SPDX-License-Identifier: Apache-2.0
// The TOML policy language (toml++). See docs/policy.md for the format.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/diagnostic.h"
#include "policy/policy.h"

namespace ftsc::policy {

struct ParsedPolicy {
  PolicySpec spec;
  std::vector<base::Diagnostic> diags;  // syntax and structure findings, each with file:line
};

// Parses a policy. Names stay as written (resolve() checks them); everything
// else (keys, types, durations, ranges) is checked here.
ParsedPolicy parse_policy_toml(std::string_view text, std::string_view file);

// A TOML text that parse_policy_toml reads back into an equal policy.
std::string write_policy_toml(const PolicySpec& spec);

}  // namespace ftsc::policy
