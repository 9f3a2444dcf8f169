// SPDX-License-Identifier: Apache-2.0
// `ftsc policy suggest`: a first policy from a profile. For every syscall that
// failed, the errnos the knowledge base marks as plausibly transient for it
// become retry candidates and the others `never`; the observed counts are
// comments, so that the reader sees what each decision rests on.
#pragma once

#include <string>

#include "kb/knowledge_base.h"
#include "profile/profile.h"

namespace ftsc::profile {

struct SuggestOptions {
  std::string profile_name;  // the file the profile came from, named in the header
  bool observe = false;      // mode = "observe" instead of enforcing
};

// A commented TOML policy that passes `ftsc policy check`.
std::string suggest_policy(const Profile& profile, const kb::KnowledgeBase& kb,
                           const SuggestOptions& options = {});

}  // namespace ftsc::profile
