// SPDX-License-Identifier: Apache-2.0
// `ftsc profile --report FILE`: the profile as one self-contained HTML page
// (inline CSS and SVG, no external resource, so it opens without network
// access): successes and failures per syscall as a chart like the research
// prototype's figure, the errno breakdown of every failing syscall, and the
// tables.
#pragma once

#include <string>
#include <string_view>

#include "profile/profile.h"

namespace ftsc::profile {

std::string format_profile_html(const Profile& p);

// Text made safe for HTML: &, <, > and " as entities (the campaign report uses it too).
std::string html_escape(std::string_view s);

// How many bars the successes/failures chart draws for this profile (two per
// syscall shown, zero-height ones left out), for tests.
size_t profile_html_bar_count(const Profile& p);

}  // namespace ftsc::profile
