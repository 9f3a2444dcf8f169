// The TOML policy language (toml++). See docs/policy.md for the format.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/policy.h"

namespace ftsc::core {

struct ParsedPolicy {
  PolicySpec spec;
  std::vector<Diagnostic> diags;  // syntax and structure findings, each with file:line
};

// Parses a policy. Names stay as written (resolve() checks them); everything
// else (keys, types, durations, ranges) is checked here.
ParsedPolicy parse_policy_toml(std::string_view text, std::string_view file);

// A TOML text that parse_policy_toml reads back into an equal policy.
std::string write_policy_toml(const PolicySpec& spec);

// Whether two policies say the same: every field a policy file can express is
// compared; positions (where), source and rule origins are not. The round-trip
// tests and the fuzzer check parse(write(p)) against p with it.
bool equivalent_policies(const PolicySpec& a, const PolicySpec& b);

}  // namespace ftsc::core
