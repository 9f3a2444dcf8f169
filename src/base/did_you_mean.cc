// SPDX-License-Identifier: Apache-2.0
#include "base/did_you_mean.h"

#include <algorithm>
#include <cctype>

namespace ftsc::base {
namespace {

// Optimal string alignment distance, case-insensitive.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i)
    d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j)
    d[0][j] = j;
  auto lower = [](char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  };
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
          lower(a[i - 2]) == lower(b[j - 1]))
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string_view>& candidates) {
  if (word.empty())
    return std::nullopt;
  size_t best = SIZE_MAX;
  std::string_view best_name;
  for (std::string_view c : candidates) {
    size_t dist = edit_distance(word, c);
    if (dist < best) {
      best = dist;
      best_name = c;
    }
  }
  // A third of the word, at least one edit and at most three, reads as a typo.
  size_t allowed = std::clamp<size_t>(word.size() / 3, 1, 3);
  if (best == SIZE_MAX || best > allowed)
    return std::nullopt;
  return std::string(best_name);
}

std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates) {
  auto m = closest_match(word, candidates);
  return m ? "did you mean " + *m + "?" : std::string();
}

}  // namespace ftsc::base
