// SPDX-License-Identifier: Apache-2.0
// A profile as JSON (`ftsc profile -o profile.json`), and reading it back
// (`ftsc policy suggest profile.json`). docs/profile.md describes the format.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "profile/profile.h"

namespace ftsc::profile {

// The version written as "ftsc_profile"; a reader accepts exactly this one.
inline constexpr int kProfileJsonVersion = 1;

std::string format_profile_json(const Profile& p);

// Reads what format_profile_json wrote. Errors name the file and the JSON
// path of what is wrong ("profile.json: syscalls[2].calls: ...").
base::Result<Profile> parse_profile_json(std::string_view text, std::string_view file);

}  // namespace ftsc::profile
