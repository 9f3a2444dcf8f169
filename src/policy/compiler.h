// SPDX-License-Identifier: Apache-2.0
// Compiles an effective policy into the ABI block of abi/compiled_policy.h,
// the one form every engine reads, and reads such blocks back.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "abi/compiled_policy.h"
#include "base/result.h"
#include "kb/knowledge_base.h"
#include "policy/effective_policy.h"

namespace ftsc::policy {

struct CompileOptions {
  bool dry_run = false;  // --dry-run: like mode = "observe"
};

// The compiled block; it is large (about 160 KiB), so it lives on the heap.
using CompiledPolicy = std::unique_ptr<ftsc_policy>;

base::Result<CompiledPolicy> compile(const EffectivePolicy& policy, const kb::KnowledgeBase& kb,
                                     const CompileOptions& options = {});

// The block's bytes, e.g. to write it to a file that an engine maps.
std::string_view policy_bytes(const ftsc_policy& p);

// Reads a block back from bytes, validating every field (ftsc_policy_validate).
base::Result<CompiledPolicy> load_compiled(std::string_view bytes);

// The (syscall, errno) cells of a block that are not FTSC_UNSET, by number.
struct CompiledCell {
  int nr;
  int err;
  unsigned decision;  // enum ftsc_decision
  unsigned schedule;
  bool operator==(const CompiledCell&) const = default;
};
std::vector<CompiledCell> compiled_cells(const ftsc_policy& p);

}  // namespace ftsc::policy
