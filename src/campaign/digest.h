// SPDX-License-Identifier: Apache-2.0
// The digest a campaign compares outputs and files by: 64-bit FNV-1a and the
// length, as hex. Not a cryptographic hash: it tells a program's own outputs
// apart from run to run, which is all a campaign asks of it.
#pragma once

#include <string>
#include <string_view>

namespace ftsc::campaign {

std::string digest(std::string_view bytes);

}  // namespace ftsc::campaign
