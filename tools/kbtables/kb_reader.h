// SPDX-License-Identifier: Apache-2.0
// Reads the knowledge base's two source files, data/man_errnos.tsv (generated
// by tools/kbgen) and data/traits.toml (hand-maintained), into the traits the
// knowledge base serves, checking every name against libseccomp (syscalls),
// glibc (errnos) and the system headers (non-blocking flags and commands).
// ftsc-kbtables runs this at build time and fails the build on any finding;
// the unit tests call it on small inputs.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/diagnostic.h"
#include "kb/knowledge_base.h"

namespace ftsc::kbtables {

struct Group {
  std::string name;  // without the %
  std::string description;
  std::vector<int> members;  // syscall numbers, sorted
};

struct KnowledgeData {
  std::string man_pages_version = "unknown";
  std::vector<kb::SyscallTraits> syscalls;  // every x86_64 syscall libseccomp knows, by number
  std::vector<Group> groups;                // ordered by name

  const kb::SyscallTraits* syscall(std::string_view name) const;
  const Group* group(std::string_view name) const;
};

// A file's name (used in findings, "data/traits.toml:12") and its text.
struct Source {
  std::string_view name;
  std::string_view text;
};

struct ReadResult {
  KnowledgeData data;
  // Every error found, those of the table first, each file's by line. The data
  // is not to be used when there is one.
  std::vector<base::Diagnostic> errors;
};

// Reads both files and reports every error in them, not only the first: a
// wrong entry is skipped and the reading goes on. A TOML syntax error is the
// exception toml++ imposes: it cannot resume after one, so the file is read
// again piece by piece, one top-level [table] at a time, to find the others
// (and to check the pieces that do parse).
ReadResult read_knowledge(Source man_errnos_tsv, Source traits_toml);

}  // namespace ftsc::kbtables
