// SPDX-License-Identifier: Apache-2.0
// The seccomp-bpf filter of the ptrace engine, built with libseccomp: it
// returns SECCOMP_RET_TRACE (with kFilterMarker as data) for the policy's
// syscalls and for those injection needs, and allows everything else, other
// architectures' entry points (int 0x80) included.
//
// Under the `auto` engine one instruction pointer is exempt: a syscall made
// from the preload library's syscall page is allowed without a stop, whatever
// it is. libseccomp compares syscall numbers and arguments only, so the filter
// is libseccomp's program (exported as BPF) whose TRACE results jump to a
// short block of our own that compares seccomp_data.instruction_pointer, and
// it is loaded with seccomp(2) directly.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <vector>

#include "abi/compiled_policy.h"
#include "base/result.h"

namespace ftsc::ptrace {

// SECCOMP_RET_DATA of our TRACE rules; a seccomp stop with other data comes
// from a filter of the program's own.
inline constexpr unsigned kFilterMarker = 0x4654;  // "FT"

// A BPF program, ready for seccomp(SECCOMP_SET_MODE_FILTER).
struct Filter {
  std::vector<sock_filter> program;
};

// Does the policy retry connect with an errno a non-blocking connect reports
// later through SO_ERROR (any errno but connect's own protocol, EINPROGRESS,
// EALREADY and EAGAIN)? Then the filter also stops getsockopt(fd,
// SOL_SOCKET, SO_ERROR, ...) (async_connect.cc).
bool retries_async_connect(const ftsc_policy& policy);

// Builds the filter in the supervisor (before fork). untraced_ip: the address
// after a `syscall` instruction whose calls are always allowed, or 0.
base::Result<Filter> build_filter(const ftsc_policy& policy, uint64_t untraced_ip = 0);

// Loads it into the calling process; 0 or a positive errno. Called in the
// forked child, before exec: async-signal-safe (no allocation). As root the
// filter is loaded without no_new_privs, so that set-user-ID programs behave
// as under any tracer; without CAP_SYS_ADMIN the kernel wants no_new_privs.
int load_filter(const Filter& filter);

}  // namespace ftsc::ptrace
