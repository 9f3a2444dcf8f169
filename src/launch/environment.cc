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

std::vector<char*> envp_of(std::vector<std::string>& env) {
  std::vector<char*> envp;
  envp.reserve(env.size() + 1);
  for (std::string& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  return envp;
}

}  // namespace ftsc::launch
