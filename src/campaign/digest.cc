// SPDX-License-Identifier: Apache-2.0
#include "campaign/digest.h"

#include <cstdint>

#include <fmt/format.h>

namespace ftsc::campaign {

std::string digest(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return fmt::format("{:016x}-{}", h, bytes.size());
}

}  // namespace ftsc::campaign
