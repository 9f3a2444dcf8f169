// SPDX-License-Identifier: Apache-2.0
// Text helpers every reader of user input needs: blanks trimmed, and a user's
// text made safe for a one-line message.
#pragma once

#include <string>
#include <string_view>

namespace ftsc::base {

// The blanks trim() removes unless told otherwise.
inline constexpr std::string_view kBlanks = " \t\r\n\v\f";

// `s` without leading and trailing `blanks`.
std::string_view trim(std::string_view s, std::string_view blanks = kBlanks);

// A user's text in a one-line message: control bytes become '?', and a text
// longer than kShownMax bytes is cut there and ends in "...".
inline constexpr size_t kShownMax = 64;
std::string shown(std::string_view s);

}  // namespace ftsc::base
