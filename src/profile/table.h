// SPDX-License-Identifier: Apache-2.0
// A profile for people: the table printed when a profile ends, and the one
// line of live counts shown on a terminal while it runs.
#pragma once

#include <cstddef>
#include <string>

#include "profile/profile.h"

namespace ftsc::profile {

// A heading line, then one line per syscall (calls, failures, failure ratio,
// top errnos) sorted by failures, then the process names with failures.
// Every syscall that failed is shown; syscalls without failures fill the
// table up to max_rows lines (0: all of them). Ends with a newline.
std::string format_profile_table(const Profile& p, size_t max_rows = 25);

// "ftsc profile: 3.0s, 120345 calls, 12 failed: openat ENOENT 10, connect ECONNREFUSED 2"
// (no newline), at most `width` characters.
std::string format_profile_live(const ProfileCounts& counts, double elapsed_s, size_t width = 100);

}  // namespace ftsc::profile
