// SPDX-License-Identifier: Apache-2.0
// `ftsc profile --from-audit FILE`: a profile from a raw auditd log, as the
// research prototype made them (`auditctl -a always,exit -S all`). Every
// type=SYSCALL record is one call: its syscall= number, its success= and
// exit= (the kernel's -errno when it failed) and the task's comm=. Records of
// other architectures (arch= other than x86_64's c000003e) are counted as
// uncounted; every other record type is skipped. auditd's ENRICHED format
// (interpreted fields after a 0x1d byte) reads the same.
#pragma once

#include <string_view>

#include "base/result.h"
#include "profile/profile.h"

namespace ftsc::profile {

// Errors name the file and line of a malformed SYSCALL record, or say that
// the text is no audit log at all.
base::Result<Profile> parse_audit_log(std::string_view text, std::string_view file);

}  // namespace ftsc::profile
