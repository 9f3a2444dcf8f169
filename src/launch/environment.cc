// SPDX-License-Identifier: Apache-2.0
#include "launch/environment.h"

#include <string_view>

namespace ftsc::launch {
namespace {

// "NAME=" of a variable ("" when it has no '=').
std::string_view name_of(std::string_view var) {
  size_t eq = var.find('=');
  return eq == std::string_view::npos ? std::string_view{} : var.substr(0, eq + 1);
}

}  // namespace

std::vector<std::string> environment_with(char* const* base,
                                          const std::vector<std::string>& additions) {
  std::vector<std::string> env = additions;
  for (char* const* e = base; e != nullptr && *e != nullptr; ++e) {
    std::string_view var(*e);
    bool replaced = false;
    for (const std::string& added : additions)
      replaced = replaced || (!name_of(var).empty() && name_of(var) == name_of(added));
    if (!replaced)
      env.emplace_back(var);
  }
  return env;
}

std::vector<char*> pid_slots(std::vector<std::string>& env, pid_t own_pid) {
  // Wide enough for any pid_t in decimal, with the terminating NUL.
  constexpr size_t kSlotWidth = sizeof "2147483647";
  const std::string own = std::to_string(own_pid);
  std::vector<char*> slots;
  for (std::string& var : env) {
    for (const char* name : kPidAddressedVariables) {
      const std::string prefix = std::string(name) + "=";
      if (var.size() != prefix.size() + own.size() || var.compare(0, prefix.size(), prefix) != 0 ||
          var.compare(prefix.size(), own.size(), own) != 0)
        continue;
      var = prefix + own + std::string(kSlotWidth - own.size(), '\0');
      slots.push_back(var.data() + prefix.size());
    }
  }
  return slots;
}

void fill_pid_slots(const std::vector<char*>& slots, pid_t pid) {
  char digits[sizeof "2147483647"];
  size_t n = 0;
  unsigned long value = pid > 0 ? static_cast<unsigned long>(pid) : 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value != 0 && n < sizeof digits);
  for (char* slot : slots) {
    for (size_t i = 0; i < n; ++i)
      slot[i] = digits[n - 1 - i];
    slot[n] = '\0';
  }
}

std::vector<char*> envp_of(std::vector<std::string>& env) {
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (std::string& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  return envp;
}

}  // namespace ftsc::launch
