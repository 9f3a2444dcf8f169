// SPDX-License-Identifier: Apache-2.0
// Findings about a policy: errors make it unusable, warnings and notes inform.
#pragma once

#include <string>
#include <vector>

#include "base/source_loc.h"

namespace ftsc::base {

enum class Severity { kError, kWarning, kNote };

struct Diagnostic {
  Severity severity = Severity::kError;
  SourceLoc where;
  std::string message;
  std::string hint;  // "did you mean ENOSPC?"; may be empty
};

// "policy.toml:12: error: unknown errno 'ENOSPCE' (did you mean ENOSPC?)"
std::string format_diagnostic(const Diagnostic& d);

bool has_errors(const std::vector<Diagnostic>& diags);

}  // namespace ftsc::base
