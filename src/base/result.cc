// SPDX-License-Identifier: Apache-2.0
#include "base/result.h"

#include <cstring>

#include <fmt/format.h>

namespace ftsc::base {

Error system_error(std::string_view what, int err, std::string hint) {
  return Error{fmt::format("{}: {}", what, std::strerror(err)), {}, std::move(hint), err};
}

}  // namespace ftsc::base
