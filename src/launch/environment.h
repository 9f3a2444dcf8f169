// SPDX-License-Identifier: Apache-2.0
// The environment of a command an engine starts: the caller's, with the
// engine's variables added.
#pragma once

#include <string>
#include <vector>

namespace ftsc::launch {

// base (an environ-style array, may be null) with each "NAME=VALUE" of
// `additions` replacing the variable of that name or added, additions first.
std::vector<std::string> environment_with(char* const* base,
                                          const std::vector<std::string>& additions);

// Pointers into env for execve(2), null-terminated; valid while env lives.
std::vector<char*> envp_of(std::vector<std::string>& env);

}  // namespace ftsc::launch
