// SPDX-License-Identifier: Apache-2.0
// The kernel engine's control, from userspace: inserting and removing the
// ftsc module, loading a compiled policy into it, reading its status and its
// statistics. The module (kmod/) publishes root-only files in securityfs,
// /sys/kernel/security/ftsc/:
//
//   policy   write one compiled policy (abi/compiled_policy.h) in one write
//   control  write "detach": the policy and its hooks go, backoff waits end
//   status   "key: value" lines, one "call:" line per call in flight (names
//            escaped, see parse_status)
//   stats    the statistics table of the last loaded policy (abi/stats.h)
//
// The module validates what it is given and keeps the reason for a rejection
// in its status (last_error); the functions here return it as the error.
// Nothing here prints; the CLI (`ftsc kmod`) and the kernel lane's test tools
// use it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "abi/compiled_policy.h"
#include "abi/stats.h"
#include "base/result.h"

namespace ftsc::kmod {

inline constexpr const char* kModuleName = "ftsc";
inline constexpr const char* kSecurityfs = "/sys/kernel/security";
inline constexpr const char* kControlDir = "/sys/kernel/security/ftsc";

// A call inside a hooked syscall, as the module's status lists it.
struct InFlightCall {
  int pid = 0;
  int tid = 0;
  std::string comm;  // unescaped: the task's name as it set it
  std::string syscall;
  bool waiting = false;    // in a backoff wait (else inside the syscall itself)
  uint64_t policy_id = 0;  // the policy it runs under (policy_id of its load); 0: none
};

// The module's status file, parsed.
struct ModuleStatus {
  bool policy_loaded = false;
  uint64_t loads = 0;      // policies loaded since the module was inserted
  uint64_t policy_id = 0;  // which load the current policy came from
  std::string version;     // the module's version (MODULE_VERSION); "" from older modules
  std::string mode;        // enforce, observe
  std::string target;      // "cgroup=/x uid=0", "all" or "none"
  std::vector<std::string> hooked;
  std::vector<std::string> unhookable;  // named by the policy, no entry point here
  std::string last_error;               // why the last write was rejected
  int unhook_error = 0;                 // ftrace refused to remove the hooks (an errno)
  long in_flight = 0;
  std::vector<InFlightCall> calls;  // at most 64 of them
  std::string text;                 // the file as read
};

// Parses the status file's text; unknown keys are kept in `text` only. The
// module escapes names (a task's comm, the target's) as \ooo for every byte
// outside printable ASCII, the space and the backslash, so a name can never
// start a line of its own; a key other than `call` that comes twice is an
// error all the same.
base::Result<ModuleStatus> parse_status(const std::string& text);

// "a\012b" -> "a\nb": the module's \ooo escapes undone.
std::string unescape_name(const std::string& text);

// One line per call: "pid 123 (cat), thread 124, in read".
std::string describe_calls(const std::vector<InFlightCall>& calls);

// How removing the module went.
struct RemoveOutcome {
  bool removed = false;
  bool was_loaded = true;
  ModuleStatus status;  // when not removed: what still holds it
};

class Control {
 public:
  explicit Control(std::string dir = kControlDir) : dir_(std::move(dir)) {}

  // Are the module's control files there?
  bool module_loaded() const;
  // Inserts the module from a .ko file (finit_module). Fails with a hint when
  // the kernel refuses it (no module support, a signature required, ...).
  base::Result<void> insert_module(const std::string& ko_path) const;
  // Writes a compiled policy. On rejection, the error carries the module's reason.
  base::Result<void> load_policy(const ftsc_policy& policy) const;
  // Removes the policy and its hooks; waiting calls return their last error.
  base::Result<void> detach() const;
  base::Result<ModuleStatus> status() const;
  // The statistics of the last loaded policy.
  base::Result<std::unique_ptr<ftsc_stats>> stats() const;
  // Detaches, then removes the module (delete_module, never waiting), trying
  // again for up to wait_ms while calls finish. Not removed when calls are
  // still in flight: the outcome names them.
  base::Result<RemoveOutcome> remove_module(int wait_ms) const;

  const std::string& dir() const { return dir_; }

 private:
  std::string path(const char* file) const { return dir_ + "/" + file; }
  // Writes to a control file; the error says why the module rejected `what`.
  base::Result<void> write_file(const char* file, const char* what, const void* data,
                                size_t size) const;

  std::string dir_;
};

}  // namespace ftsc::kmod
