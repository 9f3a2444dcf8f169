// The seccomp-bpf filter of the ptrace engine, built with libseccomp: it
// returns SECCOMP_RET_TRACE (with kFilterMarker as data) for the policy's
// syscalls and for those injection needs, and allows everything else, other
// architectures' entry points (int 0x80) included.
#pragma once

#include <memory>

#include "abi/compiled_policy.h"
#include "core/result.h"

namespace ftsc::ptrace {

// SECCOMP_RET_DATA of our TRACE rules; a seccomp stop with other data comes
// from a filter of the program's own.
inline constexpr unsigned kFilterMarker = 0x4654;  // "FT"

class Filter;
struct FilterDeleter {
  void operator()(Filter* f) const;
};
using FilterPtr = std::unique_ptr<Filter, FilterDeleter>;

// Builds the filter in the supervisor (before fork).
core::Result<FilterPtr> build_filter(const ftsc_policy& policy);

// Loads it into the calling process; 0 or a positive errno. Called in the
// forked child, before exec.
int load_filter(Filter& filter);

}  // namespace ftsc::ptrace
