// SPDX-License-Identifier: Apache-2.0
// The syscall/errno knowledge base: what the man pages document (generated
// into data/man_errnos.tsv by tools/kbgen from Debian's manpages-dev) and what
// they cannot say (hand-maintained in data/traits.toml): argument positions,
// guards for the program's own non-blocking and timeout protocols, side
// effects of failed calls, plausibly transient errnos, and syscall groups.
// Both files are checked and turned into constant tables at build time by
// tools/kbtables (data/kb_tables.h); KnowledgeBase::builtin() makes these
// records from the tables once, without parsing anything.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ftsc::kb {

struct SyscallTraits {
  int nr = -1;
  std::string name;

  // From the man page (data/man_errnos.tsv).
  std::string man_page;         // e.g. "accept.2" for accept4; "" when there is none
  std::vector<int> documented;  // errnos its ERRORS section names, sorted, unique

  // From data/traits.toml; defaults describe a call with no special traits.
  int fd_arg = -1;                     // argument index holding the fd
  int flags_arg = -1;                  // argument index holding flags or a command
  int timeout_arg = -1;                // argument index holding a timeout pointer
  uint64_t nonblock_mask = 0;          // flags_arg bits meaning "do not block" (MSG_DONTWAIT ...)
  std::vector<int32_t> nonblock_cmds;  // flags_arg values meaning "do not block" (F_SETLK ...)
  std::vector<int> protocol_errnos;    // errnos that are the program's protocol when a guard holds
  uint16_t guards = 0;                 // FTSC_SC_GUARD_* bits (abi/compiled_policy.h)
  bool never_retry = false;            // close, exit, rt_sigreturn ...
  std::string never_reason;
  bool idempotent_on_failure = true;  // false: a failed call may have had side effects
  std::string side_effect_note;
  bool writes_back_on_failure = false;  // memory written even when the call fails
  std::string writes_back_note;
  std::string eintr_note;      // non-empty when EINTR/restart has a special meaning
  std::vector<int> transient;  // errnos plausibly transient for this call

  // Inline: tools/kbtables reads the data files into these records without linking ftsc::kb.
  bool documents(int err) const {
    return std::binary_search(documented.begin(), documented.end(), err);
  }
  bool is_transient(int err) const {
    return std::find(transient.begin(), transient.end(), err) != transient.end();
  }
};

class KnowledgeBase {
 public:
  // The knowledge base compiled into ftsc (data/): made from constant tables
  // on first use; it cannot fail, the build checked the data.
  static const KnowledgeBase& builtin();

  // Every x86_64 syscall (libseccomp's list), with defaults where the data is silent.
  const SyscallTraits* syscall(int nr) const;
  const SyscallTraits* syscall(std::string_view name) const;
  const std::vector<SyscallTraits>& syscalls() const { return syscalls_; }

  // A syscall group ("file", without the %), or nullptr. Members are syscall numbers.
  const std::vector<int>* group(std::string_view name) const;
  std::vector<std::string_view> group_names() const;
  const std::string& group_description(std::string_view name) const;

  // The man-pages version the errno data was generated from ("6.03").
  const std::string& man_pages_version() const { return man_pages_version_; }

 private:
  std::vector<SyscallTraits> syscalls_;  // ordered by number
  std::vector<int> index_by_nr_;         // nr -> index into syscalls_, -1 when none
  std::map<std::string, std::vector<int>, std::less<>> groups_;
  std::map<std::string, std::string, std::less<>> group_descriptions_;
  std::string man_pages_version_;
};

}  // namespace ftsc::kb
