// SPDX-License-Identifier: Apache-2.0
// Durations as policies write them: "10ms", "1.5s", "250us", "2m".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/result.h"

namespace ftsc::base {

using Nanos = std::chrono::nanoseconds;

// The longest duration a policy takes (a delay, cap, deadline or budget
// window): a day. It keeps every sum of a schedule's delays far from overflow.
inline constexpr Nanos kMaxPolicyDuration = std::chrono::hours(24);

// Parses a non-negative decimal number followed by a unit (ns, us, ms, s, m, h).
// The error message says what is wrong; the caller adds where.
Result<Nanos> parse_duration(std::string_view text);

// The shortest exact form: 10ms, 1.5s, 250us, 0s.
std::string format_duration(Nanos d);

// The wall-clock time now, in UTC, as reports write it: 2026-12-07T23:17:53Z.
std::string utc_now();

}  // namespace ftsc::base
