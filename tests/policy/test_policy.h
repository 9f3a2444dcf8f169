// SPDX-License-Identifier: Apache-2.0
// Small builders for policies written directly as PolicySpec in tests.
#pragma once

#include <initializer_list>
#include <string>

#include "policy/policy.h"

namespace ftsc::test {

inline std::vector<policy::Named> names(std::initializer_list<const char*> list, int line = 0) {
  std::vector<policy::Named> out;
  for (const char* n : list)
    out.push_back({n, {"test.toml", line, 0}});
  return out;
}

inline policy::RuleSpec rule(std::initializer_list<const char*> syscalls,
                             std::initializer_list<const char*> retry,
                             std::initializer_list<const char*> never = {}, int line = 1) {
  policy::RuleSpec r;
  r.syscalls = names(syscalls, line);
  r.retry = names(retry, line + 1);
  r.never = names(never, line + 2);
  r.where = {"test.toml", line, 0};
  r.origin = "[[rule]]";
  return r;
}

}  // namespace ftsc::test
