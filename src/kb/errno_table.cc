// SPDX-License-Identifier: Apache-2.0
#include "kb/errno_table.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>

namespace ftsc::kb {
namespace {

// glibc's strerrorname_np names each value once; these spellings share a value
// with a canonical name. Their values come from <errno.h>.
struct Alias {
  std::string_view name;
  int value;
};
constexpr Alias kAliases[] = {
    {"EWOULDBLOCK", EWOULDBLOCK},
    {"EDEADLOCK", EDEADLOCK},
    {"ENOTSUP", ENOTSUP},
};

// Linux errnos stop well below this; 4095 is the kernel's MAX_ERRNO.
constexpr int kScanLimit = 512;

struct Table {
  std::vector<ErrnoName> names;
  std::vector<std::string_view> spellings;
  std::unordered_map<std::string_view, int> by_name;

  Table() {
    for (int v = 1; v < kScanLimit; ++v) {
      const char* n = strerrorname_np(v);
      if (n == nullptr)
        continue;
      names.push_back({v, n});
      by_name.emplace(n, v);
      spellings.emplace_back(n);
    }
    for (const Alias& a : kAliases) {
      if (by_name.emplace(a.name, a.value).second)
        spellings.push_back(a.name);
    }
  }
};

const Table& table() {
  static const Table t;
  return t;
}

}  // namespace

const std::vector<ErrnoName>& all_errnos() {
  return table().names;
}

const std::vector<std::string_view>& errno_spellings() {
  return table().spellings;
}

std::optional<int> errno_value(std::string_view name) {
  const Table& t = table();
  auto it = t.by_name.find(name);
  if (it == t.by_name.end())
    return std::nullopt;
  return it->second;
}

std::string_view errno_name(int value) {
  const char* n = value > 0 ? strerrorname_np(value) : nullptr;
  return n == nullptr ? std::string_view() : std::string_view(n);
}

}  // namespace ftsc::kb
