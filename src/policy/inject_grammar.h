// SPDX-License-Identifier: Apache-2.0
// The --inject grammar, strace-compatible where strace has the same thing:
//   SYSCALL[,SYSCALL...]:error=ERRNO[:when=EXPR][:p=PROBABILITY][:seed=N]
// EXPR is FIRST, FIRST..LAST, FIRST+ (every attempt from FIRST), FIRST+STEP,
// or FIRST..LAST+STEP; attempts are counted from 1 per syscall per process.
// Syscall and errno names are kept as written; resolve() checks them.
#pragma once

#include <string_view>

#include "base/result.h"
#include "policy/policy.h"

namespace ftsc::policy {

// Parses one injection. `where` says where the text came from ("--inject",
// or a policy file line) and is copied into the result and into errors.
base::Result<InjectSpec> parse_inject_spec(std::string_view text, const base::SourceLoc& where);

}  // namespace ftsc::policy
