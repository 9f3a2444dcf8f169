// SPDX-License-Identifier: Apache-2.0
// "did you mean ...?" for misspelled names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftsc::base {

// The candidate closest to `word` (case-insensitive edit distance with
// transpositions), if it is close enough to be a plausible typo.
std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string_view>& candidates);

// "did you mean X?" or "" when nothing is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

}  // namespace ftsc::base
