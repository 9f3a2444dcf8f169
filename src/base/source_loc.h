// SPDX-License-Identifier: Apache-2.0
// Where a piece of policy came from: a file and line, or a command-line flag.
#pragma once

#include <string>

namespace ftsc::base {

struct SourceLoc {
  std::string file;  // a path, or a flag such as "--retry"
  int line = 0;      // 1-based; 0 when not from a file
  int column = 0;    // 1-based; 0 when unknown

  // "policy.toml:12", "--retry", or "" when nothing is known.
  std::string str() const {
    if (line > 0)
      return file + ":" + std::to_string(line);
    return file;
  }
};

}  // namespace ftsc::base
