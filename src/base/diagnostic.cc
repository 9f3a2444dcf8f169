// SPDX-License-Identifier: Apache-2.0
#include "base/diagnostic.h"

#include <algorithm>

namespace ftsc::base {

std::string format_diagnostic(const Diagnostic& d) {
  const char* level = d.severity == Severity::kError     ? "error"
                      : d.severity == Severity::kWarning ? "warning"
                                                         : "note";
  std::string out;
  std::string where = d.where.str();
  if (!where.empty())
    out += where + ": ";
  out += level;
  out += ": ";
  out += d.message;
  if (!d.hint.empty())
    out += " (" + d.hint + ")";
  return out;
}

bool has_errors(const std::vector<Diagnostic>& diags) {
  return std::any_of(diags.begin(), diags.end(),
                     [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

}  // namespace ftsc::base
