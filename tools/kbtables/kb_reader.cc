// SPDX-License-Identifier: Apache-2.0
// The reader of the knowledge base's two files: the records of every syscall
// libseccomp knows, with the defaults, which data/man_errnos.tsv (read here)
// and data/traits.toml (traits_reader.cc) fill in. Every error of both files
// is collected, each file's sorted by line, and none stops the reading.
#include "kbtables/kb_reader.h"

#include <algorithm>
#include <set>
#include <string>
#include <utility>

#include "base/did_you_mean.h"
#include "kb/errno_table.h"
#include "kb/syscall_table.h"
#include "kbtables/reader_internal.h"

namespace ftsc::kbtables {
namespace {

using base::Diagnostic;
using kb::SyscallTraits;

constexpr std::string_view kRegenerate = "regenerate it with ftsc-kbgen -o data/man_errnos.tsv";

// Fills man_page and documented, and the man-pages version.
void read_tsv(std::string_view text, KnowledgeData& data, const std::vector<int>& index_by_nr,
              Findings& out) {
  std::set<int> seen;
  int line_no = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty())
      continue;
    if (line.front() == '#') {
      constexpr std::string_view kFrom = "from man-pages ";
      size_t at = line.find(kFrom);
      if (at != std::string_view::npos) {
        std::string_view rest = line.substr(at + kFrom.size());
        data.man_pages_version = std::string(rest.substr(0, rest.find(' ')));
      }
      continue;
    }
    std::vector<std::string_view> f = split(line, '\t');
    if (f.size() != 4) {
      out.error(line_no,
                "expected 4 tab-separated fields (syscall, nr, man page, errnos), got " +
                    std::to_string(f.size()),
                std::string(kRegenerate));
      continue;
    }
    const std::string name(f[0]);
    auto nr = kb::syscall_number(name);
    if (!nr) {
      out.error(line_no, "unknown syscall '" + name + "'",
                base::did_you_mean(name, syscall_names()));
      continue;
    }
    if (f[1] != std::to_string(*nr)) {
      out.error(line_no,
                "syscall '" + name + "' has number " + std::string(f[1]) + " here but " +
                    std::to_string(*nr) + " in libseccomp",
                std::string(kRegenerate));
      continue;
    }
    if (!seen.insert(*nr).second) {
      out.error(line_no, "syscall '" + name + "' is listed twice");
      continue;
    }
    SyscallTraits& t = data.syscalls[index_by_nr[*nr]];
    t.man_page = f[2] == "-" ? std::string() : std::string(f[2]);
    for (std::string_view e : split(f[3], ' ')) {
      if (e.empty())
        continue;
      auto v = kb::errno_value(e);
      if (!v) {
        out.error(line_no, "unknown errno '" + std::string(e) + "' for syscall '" + name + "'",
                  base::did_you_mean(e, kb::errno_spellings()));
        continue;
      }
      t.documented.push_back(*v);
    }
    std::sort(t.documented.begin(), t.documented.end());
    t.documented.erase(std::unique(t.documented.begin(), t.documented.end()), t.documented.end());
  }
}

}  // namespace

const kb::SyscallTraits* KnowledgeData::syscall(std::string_view name) const {
  auto nr = kb::syscall_number(name);
  if (!nr)
    return nullptr;
  auto it = std::lower_bound(syscalls.begin(), syscalls.end(), *nr,
                             [](const SyscallTraits& t, int n) { return t.nr < n; });
  return it != syscalls.end() && it->nr == *nr ? &*it : nullptr;
}

const Group* KnowledgeData::group(std::string_view name) const {
  for (const Group& g : groups) {
    if (g.name == name)
      return &g;
  }
  return nullptr;
}

ReadResult read_knowledge(Source man_errnos_tsv, Source traits_toml) {
  ReadResult r;
  const std::vector<kb::SyscallName>& names = kb::all_syscalls();
  std::vector<int> index_by_nr(names.empty() ? 0 : static_cast<size_t>(names.back().nr + 1), -1);
  for (const kb::SyscallName& s : names) {
    SyscallTraits t;
    t.nr = s.nr;
    t.name = s.name;
    index_by_nr[s.nr] = static_cast<int>(r.data.syscalls.size());
    r.data.syscalls.push_back(std::move(t));
  }

  Findings tsv(man_errnos_tsv.name);
  read_tsv(man_errnos_tsv.text, r.data, index_by_nr, tsv);
  Findings traits(traits_toml.name);
  read_traits(traits_toml, r.data, index_by_nr, traits);
  std::sort(r.data.groups.begin(), r.data.groups.end(),
            [](const Group& a, const Group& b) { return a.name < b.name; });

  r.errors = tsv.take();
  for (Diagnostic& d : traits.take())
    r.errors.push_back(std::move(d));
  return r;
}

}  // namespace ftsc::kbtables
