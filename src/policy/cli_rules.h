// SPDX-License-Identifier: Apache-2.0
// The command-line rule grammar of docs/design.md and docs/policy.md:
//   --retry SYSCALL[,SYSCALL...]=ERRNO[,ERRNO...]   (%group names allowed)
//   --backoff DELAY[,DELAY...]                       (e.g. 10ms,50ms,100ms)
// Both parse into the same model as a policy file.
#pragma once

#include <string_view>

#include "base/result.h"
#include "policy/policy.h"

namespace ftsc::policy {

// One --retry value as a rule (origin "--retry", where = the flag).
base::Result<RuleSpec> parse_retry_flag(std::string_view text);

// One --backoff value as a list schedule.
base::Result<BackoffSpec> parse_backoff_flag(std::string_view text);

}  // namespace ftsc::policy
