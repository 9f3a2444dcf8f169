// SPDX-License-Identifier: Apache-2.0
// x86_64 syscall names and numbers, taken from libseccomp's tables (never typed by hand).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftsc::kb {

struct SyscallName {
  int nr;
  std::string name;
};

// Every native x86_64 syscall libseccomp knows, ordered by number.
const std::vector<SyscallName>& all_syscalls();

// The number of a native x86_64 syscall, or nullopt.
std::optional<int> syscall_number(std::string_view name);

// The name of syscall nr, or "" when there is none.
std::string_view syscall_name(int nr);

}  // namespace ftsc::kb
