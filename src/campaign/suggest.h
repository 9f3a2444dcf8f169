// SPDX-License-Identifier: Apache-2.0
// The policy a campaign derives from its first pass: a retry rule for every
// (syscall, errno) cell whose fault was not always tolerated and that the
// knowledge base marks plausibly transient for the call. Written as commented
// TOML (the observed outcomes per cell), it is what the second pass runs under
// and what `ftsc policy suggest campaign.json` writes; it passes `ftsc policy check`.
#pragma once

#include <string>

#include "campaign/campaign.h"
#include "kb/knowledge_base.h"
#include "profile/suggest.h"

namespace ftsc::campaign {

// Whether the derived policy has any rule (a second pass needs one).
bool derives_rules(const Campaign& c, const kb::KnowledgeBase& kb);

std::string suggest_campaign_policy(const Campaign& c, const kb::KnowledgeBase& kb,
                                    const profile::SuggestOptions& options = {});

}  // namespace ftsc::campaign
