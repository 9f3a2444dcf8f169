// SPDX-License-Identifier: Apache-2.0
// A campaign as JSON (`ftsc campaign -o campaign.json`), and reading it back
// (`ftsc policy suggest campaign.json`). docs/campaign.md describes the format.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"
#include "campaign/campaign.h"

namespace ftsc::campaign {

// The version written as "ftsc_campaign"; a reader accepts exactly this one.
inline constexpr int kCampaignJsonVersion = 1;

std::string format_campaign_json(const Campaign& c);

// Whether text looks like a campaign (has the "ftsc_campaign" key), not a profile.
bool is_campaign_json(std::string_view text);

// Reads what format_campaign_json wrote; errors name the file and what is wrong.
base::Result<Campaign> parse_campaign_json(std::string_view text, std::string_view file);

}  // namespace ftsc::campaign
