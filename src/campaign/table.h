// SPDX-License-Identifier: Apache-2.0
// The survival table: per syscall and errno, the runs of each outcome, the
// cells with the worst outcomes first; with a second pass, how many of the
// cell's runs the policy made tolerated.
#pragma once

#include <string>
#include <vector>

#include "campaign/campaign.h"

namespace ftsc::campaign {

// One (syscall, errno) cell of a campaign.
struct Cell {
  int nr = 0;
  int err = 0;
  Tally first;   // pass 1
  Tally second;  // pass 2 (with the policy)
  Outcome worst(int pass) const;
};

// Every cell with runs, worst first (by outcome, then by runs of it), then by name.
std::vector<Cell> cells_of(const Campaign& c);

std::string format_campaign_table(const Campaign& c);

}  // namespace ftsc::campaign
