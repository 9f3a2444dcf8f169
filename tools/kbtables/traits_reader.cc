// SPDX-License-Identifier: Apache-2.0
// The reader of data/traits.toml. Names in it are checked against libseccomp
// (syscalls), glibc (errnos) and the system headers (non-blocking flags and
// commands, whose values this file takes from the headers' macros), so a typo
// is an error with file:line and a suggestion, never a silently ignored entry.
//
// Every error is reported. A wrong entry is reported and skipped, and the
// reading goes on with the next one; a table of an unknown syscall is still
// checked field by field (into a scratch record), so one build shows every
// mistake of an edit. Checks that relate fields to each other (a guard needs
// its argument) look at whether a field is written, not at whether its value
// was valid, so one mistake is not reported twice. toml++ cannot go on after
// a syntax error; the file is then read again one top-level table at a time.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "abi/compiled_policy.h"
#include "base/did_you_mean.h"
#include "base/toml_util.h"
#include "kb/errno_table.h"
#include "kb/syscall_table.h"
#include "kbtables/reader_internal.h"

namespace ftsc::kbtables {
namespace {

using kb::SyscallTraits;

constexpr int kMaxArg = 5;  // syscalls take at most six arguments

struct Named {
  std::string_view name;
  int64_t value;
};

// Flag bits that make a call return instead of blocking. Values come from the
// headers included above, never typed by hand.
constexpr Named kNonblockFlags[] = {
    {"MSG_DONTWAIT", MSG_DONTWAIT}, {"LOCK_NB", LOCK_NB},
    {"IPC_NOWAIT", IPC_NOWAIT},     {"GRND_NONBLOCK", GRND_NONBLOCK},
    {"RWF_NOWAIT", RWF_NOWAIT},     {"O_NONBLOCK", O_NONBLOCK},
    {"O_NDELAY", O_NDELAY},         {"SPLICE_F_NONBLOCK", SPLICE_F_NONBLOCK},
};

// Commands that make a call return instead of blocking.
constexpr Named kNonblockCmds[] = {
    {"F_SETLK", F_SETLK},
    {"F_SETLK64", F_SETLK64},
    {"F_OFD_SETLK", F_OFD_SETLK},
};

constexpr Named kGuards[] = {
    {"nonblock_fd", FTSC_SC_GUARD_NONBLOCK_FD},
    {"nonblock_flags", FTSC_SC_GUARD_NONBLOCK_FLAGS},
    {"nonblock_cmd", FTSC_SC_GUARD_NONBLOCK_CMD},
    {"socket_rcvtimeo", FTSC_SC_GUARD_SOCK_RCVTIMEO},
    {"socket_sndtimeo", FTSC_SC_GUARD_SOCK_SNDTIMEO},
    {"timeout_arg", FTSC_SC_GUARD_TIMEOUT_ARG},
    {"always", FTSC_SC_GUARD_ALWAYS},
};

constexpr std::string_view kSyscallFields[] = {
    "fd",     "flags",       "timeout",      "nonblock_flags", "nonblock_cmds", "protocol_errnos",
    "guards", "never_retry", "side_effects", "writes_back",    "eintr",         "transient",
};

constexpr std::string_view kGroupFields[] = {"description", "members"};
constexpr std::string_view kTopLevel[] = {"syscall", "groups"};

template <size_t N>
std::vector<std::string_view> names_of(const std::string_view (&list)[N]) {
  return {std::begin(list), std::end(list)};
}

template <size_t N>
std::vector<std::string_view> names_of(const Named (&list)[N]) {
  std::vector<std::string_view> out;
  for (const Named& n : list)
    out.push_back(n.name);
  return out;
}

template <size_t N>
const Named* find_named(const Named (&list)[N], std::string_view name) {
  for (const Named& n : list) {
    if (n.name == name)
      return &n;
  }
  return nullptr;
}

std::string join(const std::vector<std::string_view>& names) {
  std::string out;
  for (std::string_view n : names) {
    if (!out.empty())
      out += ", ";
    out += n;
  }
  return out;
}

// "did you mean X? (known: A, B, C)", or "known: A, B, C" when nothing is close.
std::string hint_with_list(std::string_view word, const std::vector<std::string_view>& known,
                           std::string_view list_label) {
  std::string list = std::string(list_label) + ": " + join(known);
  std::string hint = base::did_you_mean(word, known);
  return hint.empty() ? list : hint + " (" + list + ")";
}

// A string of a TOML array with the node it came from (for its line).
using NamedNode = std::pair<std::string, const toml::node*>;

class TraitsReader {
 public:
  TraitsReader(KnowledgeData& data, const std::vector<int>& index_by_nr, Findings& out)
      : data_(data), index_by_nr_(index_by_nr), out_(out) {}

  void read(const toml::table& root);

 private:
  void read_syscall(std::string_view name, const toml::node& node);
  void read_group(std::string_view name, const toml::node& node);

  void error(const toml::node& at, std::string message, std::string hint = {}) {
    out_.error(base::toml_line(at), std::move(message), std::move(hint));
  }
  void wrong_type(const toml::node& at, std::string_view what, std::string_view expected) {
    error(at, std::string(what) + " must be " + std::string(expected) + ", not " +
                  base::toml_type_name(at));
  }

  void arg_index(const toml::node& v, std::string_view what, int& out);
  void text(const toml::node& v, std::string_view what, std::string& out);
  // The strings of an array; other entries are reported and left out.
  std::vector<NamedNode> strings(const toml::node& v, std::string_view what);
  // Errnos by name, each once; unknown names and repeats are reported.
  void errnos(const toml::node& v, std::string_view what, std::vector<int>& out);
  // Values of names from a list (flags, commands, guards); unknown names are reported.
  template <size_t N>
  std::vector<int64_t> named_values(const toml::node& v, std::string_view what,
                                    const Named (&known)[N], std::string_view kind);

  KnowledgeData& data_;
  const std::vector<int>& index_by_nr_;
  Findings& out_;
};

// A field counts as written unless it is an empty array: a wrong value was
// reported already and must not make "needs 'fd'" appear as well.
bool written(const toml::node* v) {
  if (v == nullptr)
    return false;
  const toml::array* a = v->as_array();
  return a == nullptr || !a->empty();
}

void TraitsReader::arg_index(const toml::node& v, std::string_view what, int& out) {
  const auto* i = v.as_integer();
  if (i == nullptr) {
    wrong_type(v, what, "an argument index (an integer 0-5)");
    return;
  }
  int64_t n = i->get();
  if (n < 0 || n > kMaxArg) {
    error(v, std::string(what) + " must be an argument index 0-5, not " + std::to_string(n));
    return;
  }
  out = static_cast<int>(n);
}

void TraitsReader::text(const toml::node& v, std::string_view what, std::string& out) {
  const auto* s = v.as_string();
  if (s == nullptr) {
    wrong_type(v, what, "a string");
    return;
  }
  if (s->get().empty()) {
    error(v, std::string(what) + " must not be empty");
    return;
  }
  out = s->get();
}

std::vector<NamedNode> TraitsReader::strings(const toml::node& v, std::string_view what) {
  std::vector<NamedNode> out;
  const auto* a = v.as_array();
  if (a == nullptr) {
    wrong_type(v, what, "an array of strings");
    return out;
  }
  for (const toml::node& e : *a) {
    const auto* s = e.as_string();
    if (s == nullptr) {
      wrong_type(e, "each entry of " + std::string(what), "a string");
      continue;
    }
    out.emplace_back(s->get(), &e);
  }
  return out;
}

void TraitsReader::errnos(const toml::node& v, std::string_view what, std::vector<int>& out) {
  for (const auto& [name, node] : strings(v, what)) {
    auto value = kb::errno_value(name);
    if (!value) {
      error(*node, "unknown errno '" + name + "' in " + std::string(what),
            base::did_you_mean(name, kb::errno_spellings()));
      continue;
    }
    if (std::find(out.begin(), out.end(), *value) != out.end()) {
      error(*node, "errno '" + name + "' is listed twice in " + std::string(what));
      continue;
    }
    out.push_back(*value);
  }
}

template <size_t N>
std::vector<int64_t> TraitsReader::named_values(const toml::node& v, std::string_view what,
                                                const Named (&known)[N], std::string_view kind) {
  std::vector<int64_t> out;
  for (const auto& [name, node] : strings(v, what)) {
    const Named* n = find_named(known, name);
    if (n == nullptr) {
      error(*node, "unknown " + std::string(kind) + " '" + name + "' in " + std::string(what),
            hint_with_list(name, names_of(known), "known"));
      continue;
    }
    out.push_back(n->value);
  }
  return out;
}

void TraitsReader::read_syscall(std::string_view name, const toml::node& node) {
  auto nr = kb::syscall_number(name);
  if (!nr) {
    error(node, "unknown syscall '" + std::string(name) + "'",
          base::did_you_mean(name, syscall_names()));
  }
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    wrong_type(node, "syscall." + std::string(name), "a table");
    return;
  }
  // An unknown syscall's fields are still checked, into a record nobody keeps.
  SyscallTraits scratch;
  SyscallTraits& t = nr ? data_.syscalls[index_by_nr_[*nr]] : scratch;
  const std::string where = " of syscall '" + std::string(name) + "'";
  int guards_line = base::toml_line(node);
  for (const auto& [key, value] : *table) {
    const std::string_view k = key.str();
    const std::string what = "'" + std::string(k) + "'" + where;
    if (k == "fd") {
      arg_index(value, what, t.fd_arg);
    } else if (k == "flags") {
      arg_index(value, what, t.flags_arg);
    } else if (k == "timeout") {
      arg_index(value, what, t.timeout_arg);
    } else if (k == "nonblock_flags") {
      for (int64_t bit : named_values(value, what, kNonblockFlags, "non-blocking flag"))
        t.nonblock_mask |= static_cast<uint64_t>(bit);
    } else if (k == "nonblock_cmds") {
      for (int64_t cmd : named_values(value, what, kNonblockCmds, "non-blocking command"))
        t.nonblock_cmds.push_back(static_cast<int32_t>(cmd));
      if (t.nonblock_cmds.size() > FTSC_NONBLOCK_CMDS) {
        error(value, what + " lists " + std::to_string(t.nonblock_cmds.size()) +
                         " commands; the compiled policy has room for " +
                         std::to_string(FTSC_NONBLOCK_CMDS));
      }
    } else if (k == "protocol_errnos") {
      errnos(value, what, t.protocol_errnos);
      if (t.protocol_errnos.size() > FTSC_PROTOCOL_ERRNOS) {
        error(value, what + " lists " + std::to_string(t.protocol_errnos.size()) +
                         " errnos; the compiled policy has room for " +
                         std::to_string(FTSC_PROTOCOL_ERRNOS));
      }
    } else if (k == "guards") {
      for (int64_t g : named_values(value, what, kGuards, "guard"))
        t.guards = static_cast<uint16_t>(t.guards | g);
      guards_line = base::toml_line(value);
    } else if (k == "never_retry") {
      text(value, what, t.never_reason);
      t.never_retry = true;
    } else if (k == "side_effects") {
      text(value, what, t.side_effect_note);
      t.idempotent_on_failure = false;
    } else if (k == "writes_back") {
      text(value, what, t.writes_back_note);
      t.writes_back_on_failure = true;
    } else if (k == "eintr") {
      text(value, what, t.eintr_note);
    } else if (k == "transient") {
      errnos(value, what, t.transient);
      std::sort(t.transient.begin(), t.transient.end());
    } else {
      error(value, "unknown field '" + std::string(k) + "'" + where,
            hint_with_list(k, names_of(kSyscallFields), "fields"));
    }
  }

  // What the engines need for the guards must be there.
  auto has = [&](std::string_view field) { return written(table->get(field)); };
  auto need = [&](uint16_t guard, bool ok, std::string_view guard_name, std::string_view missing) {
    if ((t.guards & guard) != 0 && !ok) {
      out_.error(guards_line, "guard '" + std::string(guard_name) + "'" + where + " needs " +
                                  std::string(missing));
    }
  };
  need(FTSC_SC_GUARD_NONBLOCK_FD, has("fd"), "nonblock_fd", "'fd'");
  need(FTSC_SC_GUARD_SOCK_RCVTIMEO, has("fd"), "socket_rcvtimeo", "'fd'");
  need(FTSC_SC_GUARD_SOCK_SNDTIMEO, has("fd"), "socket_sndtimeo", "'fd'");
  need(FTSC_SC_GUARD_TIMEOUT_ARG, has("timeout"), "timeout_arg", "'timeout'");
  need(FTSC_SC_GUARD_NONBLOCK_FLAGS, has("flags") && has("nonblock_flags"), "nonblock_flags",
       "'flags' and 'nonblock_flags'");
  need(FTSC_SC_GUARD_NONBLOCK_CMD, has("flags") && has("nonblock_cmds"), "nonblock_cmd",
       "'flags' and 'nonblock_cmds'");
  if (has("guards") && !has("protocol_errnos")) {
    out_.error(guards_line, "'guards'" + where + " need 'protocol_errnos'");
  }
  if (!has("guards") && has("protocol_errnos")) {
    out_.error(base::toml_line(node),
               "'protocol_errnos'" + where + " need 'guards' saying when they apply");
  }
  if ((has("nonblock_flags") && (t.guards & FTSC_SC_GUARD_NONBLOCK_FLAGS) == 0) ||
      (has("nonblock_cmds") && (t.guards & FTSC_SC_GUARD_NONBLOCK_CMD) == 0)) {
    out_.error(guards_line, "non-blocking flags or commands" + where +
                                " are unused without the guard 'nonblock_flags' or 'nonblock_cmd'");
  }
  if (has("never_retry") && has("transient")) {
    out_.error(base::toml_line(node),
               "syscall '" + std::string(name) + "' is never_retry but lists transient errnos");
  }
}

void TraitsReader::read_group(std::string_view name, const toml::node& node) {
  const toml::table* table = node.as_table();
  const std::string where = " of group '" + std::string(name) + "'";
  if (table == nullptr) {
    wrong_type(node, "group '" + std::string(name) + "'", "a table");
    return;
  }
  Group g;
  g.name = std::string(name);
  for (const auto& [key, value] : *table) {
    const std::string_view k = key.str();
    const std::string what = "'" + std::string(k) + "'" + where;
    if (k == "description") {
      text(value, what, g.description);
    } else if (k == "members") {
      for (const auto& [member, at] : strings(value, what)) {
        auto nr = kb::syscall_number(member);
        if (!nr) {
          error(*at, "group '" + g.name + "' names unknown syscall '" + member + "'",
                base::did_you_mean(member, syscall_names()));
          continue;
        }
        if (std::find(g.members.begin(), g.members.end(), *nr) != g.members.end()) {
          error(*at, "syscall '" + member + "' is listed twice in group '" + g.name + "'");
          continue;
        }
        g.members.push_back(*nr);
      }
    } else {
      error(value, "unknown field '" + std::string(k) + "'" + where,
            hint_with_list(k, names_of(kGroupFields), "fields"));
    }
  }
  if (!table->contains("members"))
    error(node, "group '" + g.name + "' has no 'members'");
  if (!table->contains("description"))
    error(node, "group '" + g.name + "' has no 'description'");
  std::sort(g.members.begin(), g.members.end());
  data_.groups.push_back(std::move(g));
}

void TraitsReader::read(const toml::table& root) {
  for (const auto& [key, value] : root) {
    const std::string_view k = key.str();
    if (k != "syscall" && k != "groups") {
      error(value, "unknown top-level key '" + std::string(k) + "'",
            hint_with_list(k, names_of(kTopLevel), "use [syscall.NAME] or [groups.NAME]; known"));
      continue;
    }
    const toml::table* table = value.as_table();
    if (table == nullptr) {
      wrong_type(value, "'" + std::string(k) + "'", "a table");
      continue;
    }
    for (const auto& [name, node] : *table) {
      if (k == "syscall")
        read_syscall(name.str(), node);
      else
        read_group(name.str(), node);
    }
  }
}

// The top-level pieces of a TOML text: what precedes the first table header,
// then one piece per header line ("[syscall.read]" at the start of a line).
// Each piece keeps the lines before it as empty lines, so that toml++ counts
// lines as in the whole file.
std::vector<std::string> pieces_by_table(std::string_view text) {
  std::vector<std::string> out(1);
  int line_no = 0;
  for (std::string_view line : split(text, '\n')) {
    ++line_no;
    std::string_view body = line.substr(0, line.find('#'));
    while (!body.empty() && (body.back() == ' ' || body.back() == '\t' || body.back() == '\r'))
      body.remove_suffix(1);
    bool header = body.size() > 2 && body.front() == '[' && body.back() == ']' &&
                  body.find_first_not_of(
                      "[]abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") ==
                      std::string_view::npos;
    if (header && line_no > 1)
      out.emplace_back(static_cast<size_t>(line_no - 1), '\n');
    out.back() += line;
    out.back() += '\n';
  }
  return out;
}

}  // namespace

void read_traits(Source src, KnowledgeData& data, const std::vector<int>& index_by_nr,
                 Findings& out) {
  TraitsReader reader(data, index_by_nr, out);
  try {
    toml::table root = toml::parse(src.text, src.name);
    reader.read(root);
    return;
  } catch (const toml::parse_error& e) {
    const int line = static_cast<int>(e.source().begin.line);
    const std::string message = "invalid TOML: " + std::string(e.description());
    out.error(line, message);
    // Find the other syntax errors, and check what is readable, piece by
    // piece. A piece may read well alone yet not in the file (a table
    // defined twice); the error above covers that.
    for (const std::string& piece : pieces_by_table(src.text)) {
      try {
        reader.read(toml::parse(piece, src.name));
      } catch (const toml::parse_error& pe) {
        const int piece_line = static_cast<int>(pe.source().begin.line);
        const std::string piece_message = "invalid TOML: " + std::string(pe.description());
        if (piece_line != line || piece_message != message)
          out.error(piece_line, piece_message);
      }
    }
  }
}

}  // namespace ftsc::kbtables
