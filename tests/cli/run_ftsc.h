// SPDX-License-Identifier: Apache-2.0
// Runs the ftsc binary under test (FTSC_BINARY, set by CMake).
#pragma once

#include <string>
#include <vector>

#include "support/run_process.h"

namespace ftsc::test {

inline ProcessResult run_ftsc(const std::vector<std::string>& args, const std::string& input = {}) {
  std::vector<std::string> argv{FTSC_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, input);
}

}  // namespace ftsc::test
