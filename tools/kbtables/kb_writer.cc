// SPDX-License-Identifier: Apache-2.0
// The generated file holds one constexpr array per non-empty list (documented
// errnos, transient errnos, group members ...) and one row per syscall that
// refers to them through std::span, so the whole knowledge base is constant
// data in the binary's read-only section, ready at start-up with no code run.
// A row writes only the fields that differ from data/kb_tables.h's defaults,
// with designated initializers, so a field added to KbSyscall and not to this
// writer keeps its default rather than shifting the others. Errno and syscall
// numbers carry their names in comments, for a reader of the file.
#include "kbtables/kb_writer.h"

#include <fmt/format.h>

#include <cstdint>
#include <vector>

#include "kb/errno_table.h"
#include "kb/syscall_table.h"

namespace ftsc::kbtables {
namespace {

// A C++ string literal for any bytes.
std::string literal(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\{:03o}", u);  // octal: never swallows a following digit
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

std::string errno_list(const std::vector<int>& errnos) {
  std::string out;
  for (int e : errnos) {
    if (!out.empty())
      out += ", ";
    out += fmt::format("{} /* {} */", e, kb::errno_name(e));
  }
  return out;
}

std::string syscall_list(const std::vector<int>& nrs) {
  std::string out;
  for (int nr : nrs) {
    if (!out.empty())
      out += ", ";
    out += fmt::format("{} /* {} */", nr, kb::syscall_name(nr));
  }
  return out;
}

class Writer {
 public:
  std::string arrays;  // the constexpr arrays rows refer to
  std::string rows;

  void syscall(const kb::SyscallTraits& t) {
    const kb::SyscallTraits defaults;
    std::string fields = fmt::format("     .nr = {},\n     .name = {},\n", t.nr, literal(t.name));
    auto field = [&](std::string_view name, const std::string& value) {
      fields += fmt::format("     .{} = {},\n", name, value);
    };
    auto text = [&](std::string_view name, const std::string& value) {
      if (!value.empty())
        field(name, literal(value));
    };
    auto errnos = [&](std::string_view name, std::string_view array,
                      const std::vector<int>& values) {
      if (values.empty())
        return;
      std::string id = fmt::format("k{}{}", array, t.nr);
      arrays += fmt::format("constexpr int {}[] = {{{}}};\n", id, errno_list(values));
      field(name, id);
    };
    auto integer = [&](std::string_view name, int value, int default_value) {
      if (value != default_value)
        field(name, std::to_string(value));
    };
    auto boolean = [&](std::string_view name, bool value, bool default_value) {
      if (value != default_value)
        field(name, value ? "true" : "false");
    };

    text("man_page", t.man_page);
    errnos("documented", "Documented", t.documented);
    integer("fd_arg", t.fd_arg, defaults.fd_arg);
    integer("flags_arg", t.flags_arg, defaults.flags_arg);
    integer("timeout_arg", t.timeout_arg, defaults.timeout_arg);
    if (t.nonblock_mask != defaults.nonblock_mask)
      field("nonblock_mask", fmt::format("{:#x}", t.nonblock_mask));
    if (!t.nonblock_cmds.empty()) {
      std::string id = fmt::format("kNonblockCmds{}", t.nr);
      std::string values;
      for (int32_t c : t.nonblock_cmds)
        values += (values.empty() ? "" : ", ") + std::to_string(c);
      arrays += fmt::format("constexpr int32_t {}[] = {{{}}};\n", id, values);
      field("nonblock_cmds", id);
    }
    errnos("protocol_errnos", "ProtocolErrnos", t.protocol_errnos);
    if (t.guards != defaults.guards)
      field("guards", fmt::format("{:#x}", t.guards));
    boolean("never_retry", t.never_retry, defaults.never_retry);
    text("never_reason", t.never_reason);
    boolean("idempotent_on_failure", t.idempotent_on_failure, defaults.idempotent_on_failure);
    text("side_effect_note", t.side_effect_note);
    boolean("writes_back_on_failure", t.writes_back_on_failure, defaults.writes_back_on_failure);
    text("writes_back_note", t.writes_back_note);
    text("eintr_note", t.eintr_note);
    errnos("transient", "Transient", t.transient);
    rows += "    {" + fields.substr(5) + "    },\n";
  }
};

}  // namespace

std::string write_tables_source(const KnowledgeData& data, std::string_view sources) {
  Writer w;
  for (const kb::SyscallTraits& t : data.syscalls)
    w.syscall(t);

  std::string groups;
  std::string group_arrays;
  for (size_t i = 0; i < data.groups.size(); ++i) {
    const Group& g = data.groups[i];
    std::string members;
    if (!g.members.empty()) {
      members = fmt::format("kGroupMembers{}", i);
      group_arrays += fmt::format("// %{}\nconstexpr int {}[] = {{{}}};\n", g.name, members,
                                  syscall_list(g.members));
    }
    groups += fmt::format("    {{.name = {}, .description = {}{}}},\n", literal(g.name),
                          literal(g.description), members.empty() ? "" : ", .members = " + members);
  }

  std::string out;
  out += fmt::format(
      "// Generated by ftsc-kbtables (tools/kbtables) from {}.\n"
      "// Do not edit: edit the data files; the build writes this file again.\n"
      "#include <cstdint>\n\n"
      "#include \"data/kb_tables.h\"\n\n"
      "namespace ftsc::data {{\n"
      "namespace {{\n\n",
      sources);
  out += w.arrays;
  out += "\n";
  if (!w.rows.empty())
    out += "constexpr KbSyscall kSyscalls[] = {\n" + w.rows + "};\n\n";
  out += group_arrays;
  if (!groups.empty())
    out += "\nconstexpr KbGroup kGroups[] = {\n" + groups + "};\n\n";
  out += fmt::format("constexpr KbTables kTables = {{\n    .man_pages_version = {},\n",
                     literal(data.man_pages_version));
  if (!w.rows.empty())
    out += "    .syscalls = kSyscalls,\n";
  if (!groups.empty())
    out += "    .groups = kGroups,\n";
  out +=
      "};\n\n"
      "}  // namespace\n\n"
      "const KbTables& kb_tables() {\n"
      "  return kTables;\n"
      "}\n\n"
      "}  // namespace ftsc::data\n";
  return out;
}

}  // namespace ftsc::kbtables
