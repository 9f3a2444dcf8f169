// SPDX-License-Identifier: Apache-2.0
// A file replaced whole: a reader (a Prometheus textfile collector, a script
// polling a statistics file) sees the old content or the new, never a part.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace ftsc::base {

// Writes content to a new file in path's directory and renames it to path
// (rename(2) is atomic within a file system). The file is readable by all
// (0644), as a collector running as another user needs.
Result<void> write_file_atomically(const std::string& path, std::string_view content);

}  // namespace ftsc::base
