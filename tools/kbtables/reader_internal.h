// SPDX-License-Identifier: Apache-2.0
// What the two readers of the knowledge base's files share (kb_reader.cc reads
// data/man_errnos.tsv, traits_reader.cc data/traits.toml): the list of
// findings of one file, and small text helpers. Not part of the library's
// interface.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/diagnostic.h"
#include "kb/syscall_table.h"
#include "kbtables/kb_reader.h"

namespace ftsc::kbtables {

// Every syscall name libseccomp knows (for suggestions).
inline const std::vector<std::string_view>& syscall_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const kb::SyscallName& s : kb::all_syscalls())
      out.push_back(s.name);
    return out;
  }();
  return names;
}

// The fields of s between the separators (one more than there are separators).
inline std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  return out;
}

// The errors found in one file.
class Findings {
 public:
  explicit Findings(std::string_view file) : file_(file) {}

  void error(int line, std::string message, std::string hint = {}) {
    base::Diagnostic d;
    d.severity = base::Severity::kError;
    d.where.file = file_;
    d.where.line = line;
    d.message = std::move(message);
    d.hint = std::move(hint);
    list_.push_back(std::move(d));
  }

  // By line; findings on one line keep their order.
  std::vector<base::Diagnostic> take() {
    std::stable_sort(list_.begin(), list_.end(),
                     [](const base::Diagnostic& a, const base::Diagnostic& b) {
                       return a.where.line < b.where.line;
                     });
    return std::move(list_);
  }

 private:
  std::string file_;
  std::vector<base::Diagnostic> list_;
};

// Reads data/traits.toml (src.text) into the records of `data`, whose syscalls
// are indexed by number in index_by_nr, and its groups; reports into `out`.
void read_traits(Source src, KnowledgeData& data, const std::vector<int>& index_by_nr,
                 Findings& out);

}  // namespace ftsc::kbtables
