// SPDX-License-Identifier: Apache-2.0
#include "base/text.h"

namespace ftsc::base {

std::string_view trim(std::string_view s, std::string_view blanks) {
  size_t b = s.find_first_not_of(blanks);
  if (b == std::string_view::npos)
    return {};
  return s.substr(b, s.find_last_not_of(blanks) - b + 1);
}

std::string shown(std::string_view s) {
  std::string out(s.substr(0, kShownMax));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      c = '?';
  }
  if (s.size() > kShownMax)
    out += "...";
  return out;
}

}  // namespace ftsc::base
