// SPDX-License-Identifier: Apache-2.0
// errno names and values, taken from glibc (strerrorname_np), never typed by hand.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace ftsc::kb {

struct ErrnoName {
  int value;
  std::string_view name;  // glibc's canonical name, e.g. "EAGAIN"
};

// Every errno glibc names, ordered by value (canonical names only).
const std::vector<ErrnoName>& all_errnos();

// The value for a canonical name or a glibc alias (EWOULDBLOCK, EDEADLOCK, ENOTSUP).
std::optional<int> errno_value(std::string_view name);

// Every accepted spelling, canonical names and aliases (for suggestions).
const std::vector<std::string_view>& errno_spellings();

// glibc's canonical name for value, or "" when glibc has none.
std::string_view errno_name(int value);

}  // namespace ftsc::kb
