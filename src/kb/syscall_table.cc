// SPDX-License-Identifier: Apache-2.0
#include "kb/syscall_table.h"

#include <seccomp.h>

#include <cstdlib>
#include <string>
#include <unordered_map>

#include "abi/compiled_policy.h"

namespace ftsc::kb {
namespace {

struct Table {
  std::vector<SyscallName> by_order;
  std::vector<std::string> by_nr;
  std::unordered_map<std::string, int> by_name;

  Table() : by_nr(FTSC_NR_LIMIT) {
    for (int nr = 0; nr < static_cast<int>(FTSC_NR_LIMIT); ++nr) {
      char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
      if (name == nullptr)
        continue;
      std::string n(name);
      free(name);  // NOLINT: libseccomp returns malloc'd memory
      by_order.push_back({nr, n});
      by_nr[nr] = n;
      by_name.emplace(n, nr);
    }
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

const std::vector<SyscallName>& all_syscalls() {
  return table().by_order;
}

std::optional<int> syscall_number(std::string_view name) {
  const Table& t = table();
  auto it = t.by_name.find(std::string(name));
  if (it == t.by_name.end())
    return std::nullopt;
  return it->second;
}

std::string_view syscall_name(int nr) {
  if (nr < 0 || nr >= static_cast<int>(FTSC_NR_LIMIT))
    return {};
  return table().by_nr[nr];
}

}  // namespace ftsc::kb
