// SPDX-License-Identifier: Apache-2.0
//
// Where library code says things: the caller (the CLI) gives a component a
// sink, which by default writes to standard error, so that library code
// never prints by itself and tests can collect what it says.
#pragma once

#include <functional>
#include <string>

namespace ftsc::base {

// Takes whole lines, each ending with a newline.
using LogSink = std::function<void(const std::string& lines)>;

}  // namespace ftsc::base
