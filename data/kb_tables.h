// SPDX-License-Identifier: Apache-2.0
// The knowledge base as compiled into ftsc: plain constant tables that
// tools/kbtables writes at build time (kb_tables.cc in the build directory)
// from data/man_errnos.tsv and data/traits.toml, after checking every name in
// them. Nothing here is parsed at run time; src/kb/knowledge_base.cc turns
// these rows into core::SyscallTraits once.
//
// A row states only what the data says: a field left out keeps its default
// below (every field has one, so designated initializers may leave any out),
// which is the default of core::SyscallTraits (a call with no special traits). Numbers (syscalls,
// errnos, flag bits, commands) were resolved by the generator from libseccomp, glibc and the system
// headers; the generated file names the syscalls and errnos in comments.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace ftsc::data {

struct KbSyscall {
  int nr = -1;
  std::string_view name = {};
  std::string_view man_page = {};        // "" when there is none
  std::span<const int> documented = {};  // errnos of the ERRORS section, sorted, unique
  int fd_arg = -1;                       // argument indexes, -1 when none
  int flags_arg = -1;
  int timeout_arg = -1;
  uint64_t nonblock_mask = 0;  // flags_arg bits meaning "do not block"
  std::span<const int32_t> nonblock_cmds = {};
  std::span<const int> protocol_errnos = {};
  uint16_t guards = 0;  // FTSC_SC_GUARD_* bits
  bool never_retry = false;
  std::string_view never_reason = {};
  bool idempotent_on_failure = true;
  std::string_view side_effect_note = {};
  bool writes_back_on_failure = false;
  std::string_view writes_back_note = {};
  std::string_view eintr_note = {};
  std::span<const int> transient = {};  // sorted
};

struct KbGroup {
  std::string_view name = {};  // without the %
  std::string_view description = {};
  std::span<const int> members = {};  // syscall numbers, sorted
};

struct KbTables {
  std::string_view man_pages_version = {};   // "6.03", or "unknown"
  std::span<const KbSyscall> syscalls = {};  // ordered by number
  std::span<const KbGroup> groups = {};      // ordered by name
};

// The generated tables (kb_tables.cc in the build directory).
const KbTables& kb_tables();

}  // namespace ftsc::data
