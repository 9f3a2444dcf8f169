// SPDX-License-Identifier: Apache-2.0
// `ftsc campaign --report FILE`: the campaign as one self-contained HTML page
// (inline CSS, no external resource): the syscall x errno matrix coloured by
// each cell's worst outcome, before and with the policy, the summary, and
// the list of runs. The page shares its head, tail and escaping with the
// profile report (profile/html.h).
#pragma once

#include <string>

#include "campaign/campaign.h"

namespace ftsc::campaign {

std::string format_campaign_html(const Campaign& c);

}  // namespace ftsc::campaign
