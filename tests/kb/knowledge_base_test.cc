// SPDX-License-Identifier: Apache-2.0
// The knowledge base: the built-in tables are the checked-in data and say what
// they should, every name in data/traits.toml exists, and every mistake in the
// data files is reported, all of them at once, with file:line and a suggestion,
// both by the reader (tools/kbtables) and by ftsc-kbtables run as a process.
#include "kb/knowledge_base.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "abi/compiled_policy.h"
#include "kb/errno_table.h"
#include "kb/syscall_table.h"
#include "kbtables/kb_reader.h"
#include "kbtables/kb_writer.h"
#include "support/run_process.h"

namespace ftsc::kb {
namespace {

const std::string kTraitsPath = std::string(FTSC_SOURCE_DIR) + "/data/traits.toml";
const std::string kManErrnosPath = std::string(FTSC_SOURCE_DIR) + "/data/man_errnos.tsv";

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

const SyscallTraits& traits(std::string_view name) {
  const SyscallTraits* t = KnowledgeBase::builtin().syscall(name);
  if (t == nullptr) {
    ADD_FAILURE() << "no syscall " << name;
    static const SyscallTraits kNone;
    return kNone;
  }
  return *t;
}

bool contains(const std::vector<int>& v, int x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST(KnowledgeBase, BuiltinLoadsEverySyscallLibseccompKnows) {
  const KnowledgeBase& kb = KnowledgeBase::builtin();
  ASSERT_EQ(kb.syscalls().size(), all_syscalls().size());
  for (const SyscallName& s : all_syscalls()) {
    const SyscallTraits* by_nr = kb.syscall(s.nr);
    ASSERT_NE(by_nr, nullptr) << s.name;
    EXPECT_EQ(by_nr->name, s.name);
    EXPECT_EQ(kb.syscall(s.name), by_nr);
  }
  EXPECT_TRUE(std::is_sorted(kb.syscalls().begin(), kb.syscalls().end(),
                             [](const auto& a, const auto& b) { return a.nr < b.nr; }));
  EXPECT_EQ(kb.syscall(-1), nullptr);
  EXPECT_EQ(kb.syscall(100000), nullptr);
  EXPECT_EQ(kb.syscall("no_such_call"), nullptr);
  EXPECT_FALSE(kb.man_pages_version().empty());
  EXPECT_NE(kb.man_pages_version(), "unknown");
}

TEST(KnowledgeBase, BuiltinTablesAreTheCheckedInData) {
  // A stale build would test other data than the repository holds; and the
  // tables ftsc-kbtables wrote must say, field by field, what its reader read.
  kbtables::ReadResult r =
      kbtables::read_knowledge({"data/man_errnos.tsv", read_file(kManErrnosPath)},
                               {"data/traits.toml", read_file(kTraitsPath)});
  for (const base::Diagnostic& d : r.errors)
    ADD_FAILURE() << base::format_diagnostic(d);
  const KnowledgeBase& kb = KnowledgeBase::builtin();
  EXPECT_EQ(kb.man_pages_version(), r.data.man_pages_version);
  ASSERT_EQ(kb.syscalls().size(), r.data.syscalls.size());
  for (size_t i = 0; i < r.data.syscalls.size(); ++i) {
    const SyscallTraits& want = r.data.syscalls[i];
    const SyscallTraits& got = kb.syscalls()[i];
    SCOPED_TRACE(want.name);
    EXPECT_EQ(got.nr, want.nr);
    EXPECT_EQ(got.name, want.name);
    EXPECT_EQ(got.man_page, want.man_page);
    EXPECT_EQ(got.documented, want.documented);
    EXPECT_EQ(got.fd_arg, want.fd_arg);
    EXPECT_EQ(got.flags_arg, want.flags_arg);
    EXPECT_EQ(got.timeout_arg, want.timeout_arg);
    EXPECT_EQ(got.nonblock_mask, want.nonblock_mask);
    EXPECT_EQ(got.nonblock_cmds, want.nonblock_cmds);
    EXPECT_EQ(got.protocol_errnos, want.protocol_errnos);
    EXPECT_EQ(got.guards, want.guards);
    EXPECT_EQ(got.never_retry, want.never_retry);
    EXPECT_EQ(got.never_reason, want.never_reason);
    EXPECT_EQ(got.idempotent_on_failure, want.idempotent_on_failure);
    EXPECT_EQ(got.side_effect_note, want.side_effect_note);
    EXPECT_EQ(got.writes_back_on_failure, want.writes_back_on_failure);
    EXPECT_EQ(got.writes_back_note, want.writes_back_note);
    EXPECT_EQ(got.eintr_note, want.eintr_note);
    EXPECT_EQ(got.transient, want.transient);
  }
  std::vector<std::string_view> names = kb.group_names();
  ASSERT_EQ(names.size(), r.data.groups.size());
  for (size_t i = 0; i < names.size(); ++i) {
    const kbtables::Group& want = r.data.groups[i];
    EXPECT_EQ(names[i], want.name);
    ASSERT_NE(kb.group(want.name), nullptr) << want.name;
    EXPECT_EQ(*kb.group(want.name), want.members) << want.name;
    EXPECT_EQ(kb.group_description(want.name), want.description);
  }
}

// The required check: every syscall, errno and group member named in
// data/traits.toml exists (read independently of the loader).
TEST(KnowledgeBase, EveryNameInTraitsExists) {
  toml::table root = toml::parse_file(kTraitsPath);
  const toml::table* syscalls = root["syscall"].as_table();
  ASSERT_NE(syscalls, nullptr);
  size_t named = 0;
  for (const auto& [name, node] : *syscalls) {
    ++named;
    EXPECT_TRUE(syscall_number(name.str()).has_value()) << "unknown syscall " << name.str();
    for (const char* field : {"protocol_errnos", "transient"}) {
      if (const toml::array* a = node.as_table()->get_as<toml::array>(field)) {
        for (const toml::node& e : *a) {
          EXPECT_TRUE(errno_value(e.value_or(std::string())).has_value())
              << name.str() << "." << field << ": " << e.value_or(std::string());
        }
      }
    }
  }
  EXPECT_GE(named, 80u);
  const toml::table* groups = root["groups"].as_table();
  ASSERT_NE(groups, nullptr);
  for (const auto& [name, node] : *groups) {
    const toml::array* members = node.as_table()->get_as<toml::array>("members");
    ASSERT_NE(members, nullptr) << name.str();
    for (const toml::node& m : *members) {
      EXPECT_TRUE(syscall_number(m.value_or(std::string())).has_value())
          << "group " << name.str() << ": " << m.value_or(std::string());
    }
  }
}

TEST(KnowledgeBase, ManPageFacts) {
  EXPECT_TRUE(traits("write").documents(ENOSPC));
  EXPECT_TRUE(traits("write").documents(EAGAIN));
  EXPECT_FALSE(traits("write").documents(ENOTTY));
  EXPECT_EQ(traits("write").man_page, "write.2");
  // Pages shared through links and .so stubs.
  EXPECT_EQ(traits("accept4").man_page, "accept.2");
  EXPECT_EQ(traits("newfstatat").man_page, "stat.2");
  EXPECT_EQ(traits("pread64").man_page, "pread.2");
  EXPECT_EQ(traits("umount2").man_page, "umount.2");
  EXPECT_EQ(traits("rt_sigaction").man_page, "sigaction.2");
  // pread(2) documents its errors by reference to read(2) and lseek(2).
  EXPECT_TRUE(traits("pread64").documents(EAGAIN));
  EXPECT_TRUE(traits("pread64").documents(ESPIPE));
  // fork(2) names ERESTARTNOINTR, which is no glibc errno.
  EXPECT_TRUE(traits("fork").documents(EAGAIN));
  EXPECT_FALSE(traits("fork").documents(513));
  // A syscall without a page is present with nothing documented.
  EXPECT_EQ(traits("io_uring_setup").man_page, "");
  EXPECT_TRUE(traits("io_uring_setup").documented.empty());
  for (const SyscallTraits& t : KnowledgeBase::builtin().syscalls()) {
    EXPECT_TRUE(std::is_sorted(t.documented.begin(), t.documented.end())) << t.name;
  }
}

TEST(KnowledgeBase, TraitsFacts) {
  const SyscallTraits& close = traits("close");
  EXPECT_TRUE(close.never_retry);
  EXPECT_FALSE(close.never_reason.empty());
  for (const char* n : {"rt_sigreturn", "exit", "exit_group", "restart_syscall"}) {
    EXPECT_TRUE(traits(n).never_retry) << n;
  }

  const SyscallTraits& recvfrom = traits("recvfrom");
  EXPECT_EQ(recvfrom.fd_arg, 0);
  EXPECT_EQ(recvfrom.flags_arg, 3);
  EXPECT_EQ(recvfrom.nonblock_mask & static_cast<uint64_t>(MSG_DONTWAIT),
            static_cast<uint64_t>(MSG_DONTWAIT));
  EXPECT_TRUE(recvfrom.guards & FTSC_SC_GUARD_NONBLOCK_FLAGS);
  EXPECT_TRUE(recvfrom.guards & FTSC_SC_GUARD_SOCK_RCVTIMEO);
  EXPECT_EQ(recvfrom.protocol_errnos, std::vector<int>{EAGAIN});

  const SyscallTraits& fcntl = traits("fcntl");
  EXPECT_TRUE(
      contains(std::vector<int>(fcntl.nonblock_cmds.begin(), fcntl.nonblock_cmds.end()), F_SETLK));
  EXPECT_TRUE(contains(fcntl.protocol_errnos, EACCES));
  EXPECT_EQ(fcntl.guards, FTSC_SC_GUARD_NONBLOCK_CMD);

  EXPECT_EQ(traits("futex").guards, FTSC_SC_GUARD_ALWAYS);
  EXPECT_EQ(traits("rt_sigtimedwait").timeout_arg, 2);
  EXPECT_EQ(traits("preadv2").flags_arg, 5);
  EXPECT_TRUE(traits("select").writes_back_on_failure);
  EXPECT_TRUE(traits("nanosleep").writes_back_on_failure);
  EXPECT_FALSE(traits("nanosleep").eintr_note.empty());
  EXPECT_FALSE(traits("rename").idempotent_on_failure);
  EXPECT_TRUE(traits("write").idempotent_on_failure);
  EXPECT_TRUE(traits("write").is_transient(ENOSPC));
  EXPECT_TRUE(traits("connect").is_transient(ECONNREFUSED));
  EXPECT_TRUE(traits("fork").is_transient(EAGAIN));

  // Defaults for a syscall the traits do not mention.
  const SyscallTraits& getpid = traits("getpid");
  EXPECT_EQ(getpid.fd_arg, -1);
  EXPECT_EQ(getpid.flags_arg, -1);
  EXPECT_EQ(getpid.timeout_arg, -1);
  EXPECT_EQ(getpid.guards, 0);
  EXPECT_FALSE(getpid.never_retry);
  EXPECT_TRUE(getpid.idempotent_on_failure);
  EXPECT_TRUE(getpid.transient.empty());
}

TEST(KnowledgeBase, TransientErrnosAreDocumented) {
  for (const SyscallTraits& t : KnowledgeBase::builtin().syscalls()) {
    if (t.man_page.empty())
      continue;
    for (int e : t.transient) {
      EXPECT_TRUE(t.documents(e)) << t.name << " lists " << errno_name(e) << " as transient but "
                                  << t.man_page << " does not document it";
    }
  }
}

TEST(KnowledgeBase, Groups) {
  const KnowledgeBase& kb = KnowledgeBase::builtin();
  const std::vector<int>* file = kb.group("file");
  ASSERT_NE(file, nullptr);
  EXPECT_TRUE(contains(*file, *syscall_number("openat")));
  const std::vector<int>* network = kb.group("network");
  ASSERT_NE(network, nullptr);
  EXPECT_TRUE(contains(*network, *syscall_number("connect")));
  EXPECT_EQ(kb.group("nosuchgroup"), nullptr);
  EXPECT_EQ(kb.group_description("nosuchgroup"), "");
  std::vector<std::string_view> names = kb.group_names();
  for (const char* g : {"file", "desc", "network", "memory", "process", "signal", "ipc"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), g), names.end()) << g;
    EXPECT_FALSE(kb.group_description(g).empty()) << g;
  }
}

// ---- the reader's errors (tools/kbtables) ------------------------------------

std::vector<base::Diagnostic> read_errors(std::string_view toml, std::string_view tsv = "") {
  return kbtables::read_knowledge({"man_errnos.tsv", tsv}, {"t.toml", toml}).errors;
}

std::string all(const std::vector<base::Diagnostic>& errors) {
  std::string out;
  for (const base::Diagnostic& d : errors)
    out += base::format_diagnostic(d) + "\n";
  return out;
}

// The one error the data has (a mistake must not be reported twice).
base::Diagnostic only_error(std::string_view toml, std::string_view tsv = "") {
  std::vector<base::Diagnostic> errors = read_errors(toml, tsv);
  EXPECT_EQ(errors.size(), 1u) << "in:\n" << toml << tsv << "\nreported:\n" << all(errors);
  return errors.empty() ? base::Diagnostic{} : errors.front();
}

void expect_error(const base::Diagnostic& e, int line, std::string_view message,
                  std::string_view hint = "") {
  EXPECT_EQ(e.severity, base::Severity::kError);
  EXPECT_EQ(e.where.line, line) << e.message;
  EXPECT_NE(e.message.find(message), std::string::npos) << e.message;
  EXPECT_NE(e.hint.find(hint), std::string::npos) << e.hint;
}

// One of `errors` is at `line` and says `message`.
void expect_among(const std::vector<base::Diagnostic>& errors, int line, std::string_view message,
                  std::string_view hint = "") {
  for (const base::Diagnostic& e : errors) {
    if (e.where.line == line && e.message.find(message) != std::string::npos) {
      EXPECT_NE(e.hint.find(hint), std::string::npos) << e.hint;
      return;
    }
  }
  ADD_FAILURE() << "no error at line " << line << " saying '" << message << "'; reported:\n"
                << all(errors);
}

TEST(KnowledgeBaseReader, AcceptsEmptyData) {
  kbtables::ReadResult r = kbtables::read_knowledge({"m.tsv", ""}, {"t.toml", ""});
  EXPECT_TRUE(r.errors.empty()) << all(r.errors);
  EXPECT_EQ(r.data.syscalls.size(), all_syscalls().size());
  EXPECT_EQ(r.data.man_pages_version, "unknown");
  EXPECT_TRUE(r.data.groups.empty());
}

TEST(KnowledgeBaseReader, RejectsBadToml) {
  base::Diagnostic e = only_error("[syscall.read]\nfd = 0\nflags = = 1\n");
  EXPECT_EQ(e.where.file, "t.toml");
  expect_error(e, 3, "invalid TOML");
  EXPECT_EQ(e.where.str(), "t.toml:3");
}

TEST(KnowledgeBaseReader, RejectsUnknownSyscall) {
  expect_error(only_error("\n[syscall.raed]\nfd = 0\n"), 2, "unknown syscall 'raed'",
               "did you mean read?");
}

TEST(KnowledgeBaseReader, RejectsUnknownErrno) {
  expect_error(only_error("[syscall.write]\nfd = 0\ntransient = [\"EDQUOT\",\n \"ENOSPCE\"]\n"), 4,
               "unknown errno 'ENOSPCE'", "did you mean ENOSPC?");
}

TEST(KnowledgeBaseReader, RejectsUnknownField) {
  expect_error(only_error("[syscall.ppoll]\n\ntimout = 2\n"), 3, "unknown field 'timout'",
               "did you mean timeout?");
}

TEST(KnowledgeBaseReader, RejectsUnknownFlagCommandAndGuard) {
  expect_error(only_error("[syscall.recvfrom]\nfd = 0\nflags = 3\nnonblock_flags = "
                          "[\"MSG_DONTWAI\"]\nguards = [\"nonblock_flags\"]\n"
                          "protocol_errnos = [\"EAGAIN\"]\n"),
               4, "unknown non-blocking flag 'MSG_DONTWAI'", "did you mean MSG_DONTWAIT?");
  expect_error(only_error("[syscall.fcntl]\nfd = 0\nflags = 1\nnonblock_cmds = [\"F_SETLCK\"]\n"
                          "guards = [\"nonblock_cmd\"]\nprotocol_errnos = [\"EAGAIN\"]\n"),
               4, "unknown non-blocking command 'F_SETLCK'", "did you mean F_SETLK?");
  expect_error(only_error("[syscall.read]\nfd = 0\nguards = [\"nonblock_fdd\"]\n"
                          "protocol_errnos = [\"EAGAIN\"]\n"),
               3, "unknown guard 'nonblock_fdd'", "did you mean nonblock_fd?");
}

TEST(KnowledgeBaseReader, RejectsWrongTypes) {
  expect_error(only_error("[syscall.read]\nfd = \"0\"\n"), 2, "'fd' of syscall 'read' must be");
  expect_error(only_error("[syscall.read]\nfd = 7\n"), 2, "argument index 0-5");
  expect_error(only_error("[syscall.read]\ntransient = \"EIO\"\n"), 2, "an array of strings");
  expect_error(only_error("[syscall.read]\ntransient = [\"EIO\", 5]\n"), 2, "must be a string");
  expect_error(only_error("[syscall.close]\nnever_retry = true\n"), 2,
               "'never_retry' of syscall 'close' must be a string");
  expect_error(only_error("syscall = 3\n"), 1, "'syscall' must be a table");
  expect_error(only_error("[sycall.read]\nfd = 0\n"), 1, "unknown top-level key 'sycall'",
               "did you mean syscall?");
  // A wrong value is one error: the guard that needs the field does not add another.
  expect_error(only_error("[syscall.read]\nfd = \"zero\"\nguards = [\"nonblock_fd\"]\n"
                          "protocol_errnos = [\"EAGAIN\"]\n"),
               2, "must be an argument index");
}

TEST(KnowledgeBaseReader, RejectsInconsistentGuards) {
  expect_error(only_error("[syscall.read]\nguards = [\"nonblock_fd\"]\n"
                          "protocol_errnos = [\"EAGAIN\"]\n"),
               2, "guard 'nonblock_fd' of syscall 'read' needs 'fd'");
  expect_error(only_error("[syscall.read]\nfd = 0\nguards = [\"nonblock_fd\"]\n"), 3,
               "need 'protocol_errnos'");
  expect_error(only_error("[syscall.read]\nfd = 0\nprotocol_errnos = [\"EAGAIN\"]\n"), 1,
               "need 'guards'");
  std::vector<base::Diagnostic> errors = read_errors(
      "[syscall.fcntl]\nfd = 0\nflags = 1\nguards = [\"nonblock_cmd\"]\n"
      "protocol_errnos = [\"EAGAIN\", \"EACCES\", \"EINTR\", \"EIO\"]\n");
  EXPECT_EQ(errors.size(), 2u) << all(errors);
  expect_among(errors, 4,
               "guard 'nonblock_cmd' of syscall 'fcntl' needs 'flags' and 'nonblock_cmds'");
  expect_among(errors, 5, "room for 3");
  expect_error(only_error("[syscall.close]\nnever_retry = \"x\"\ntransient = [\"EIO\"]\n"), 1,
               "never_retry but lists transient");
}

TEST(KnowledgeBaseReader, RejectsBadGroups) {
  expect_error(only_error("[groups.file]\ndescription = \"d\"\nmembers = [\"open\",\n"
                          "  \"opneat\"]\n"),
               4, "group 'file' names unknown syscall 'opneat'", "did you mean openat?");
  expect_error(only_error("[groups.file]\ndescription = \"d\"\nmembers = [\"open\", \"open\"]\n"),
               3, "listed twice");
  std::vector<base::Diagnostic> errors =
      read_errors("[groups.file]\ndescription = \"d\"\nmember = [\"open\"]\n");
  EXPECT_EQ(errors.size(), 2u) << all(errors);
  expect_among(errors, 3, "unknown field 'member'", "did you mean members?");
  expect_among(errors, 1, "has no 'members'");
  expect_error(only_error("[groups.file]\nmembers = [\"open\"]\n"), 1, "no 'description'");
}

TEST(KnowledgeBaseReader, RejectsBadManErrnos) {
  base::Diagnostic e = only_error("", "# header\nwrite\t1\twrite.2\tEIO ENOSPCE\n");
  EXPECT_EQ(e.where.str(), "man_errnos.tsv:2");
  expect_error(e, 2, "unknown errno 'ENOSPCE'", "did you mean ENOSPC?");
  expect_error(only_error("", "wirte\t1\twrite.2\tEIO\n"), 1, "unknown syscall 'wirte'",
               "did you mean write?");
  expect_error(only_error("", "write\t2\twrite.2\tEIO\n"), 1, "number 2 here but 1 in libseccomp");
  expect_error(only_error("", "write\t1\twrite.2\n"), 1, "expected 4 tab-separated fields");
  expect_error(only_error("", "write\t1\twrite.2\tEIO\nwrite\t1\twrite.2\tEIO\n"), 2,
               "listed twice");
}

// The point of reading at build time: one run names every mistake, in both
// files, in the order of the lines.
TEST(KnowledgeBaseReader, ReportsEveryError) {
  std::vector<base::Diagnostic> errors = read_errors(
      "[syscall.raed]\n"                         // 1: unknown syscall
      "fd = 9\n"                                 // 2: and its fields are still checked
      "[syscall.write]\n"                        //
      "transient = [\"ENOSPCE\", \"EDQOUT\"]\n"  // 4: two unknown errnos
      "timout = 1\n"                             // 5: unknown field
      "[groups.file]\n"                          // 6: no description
      "members = [\"open\", \"opneat\", 3]\n"    // 7: unknown member, not a string
      "[sycall.x]\n",                            // 8: unknown top-level key
      "write\t1\twrite.2\tEIO\n"
      "wirte\t1\twrite.2\tEIO\n"          // 2: unknown syscall
      "read\t0\tread.2\tEIO EAGAINN\n");  // 3: unknown errno
  EXPECT_EQ(errors.size(), 11u) << all(errors);
  expect_among(errors, 2, "unknown syscall 'wirte'", "did you mean write?");
  expect_among(errors, 3, "unknown errno 'EAGAINN'", "did you mean EAGAIN?");
  expect_among(errors, 1, "unknown syscall 'raed'", "did you mean read?");
  expect_among(errors, 2, "argument index 0-5");
  expect_among(errors, 4, "unknown errno 'ENOSPCE'", "did you mean ENOSPC?");
  expect_among(errors, 4, "unknown errno 'EDQOUT'", "did you mean EDQUOT?");
  expect_among(errors, 5, "unknown field 'timout'", "did you mean timeout?");
  expect_among(errors, 6, "has no 'description'");
  expect_among(errors, 7, "names unknown syscall 'opneat'", "did you mean openat?");
  expect_among(errors, 7, "each entry of 'members' of group 'file' must be a string");
  expect_among(errors, 8, "unknown top-level key 'sycall'");
  // The table's errors first, then the traits', each file's by line.
  ASSERT_GE(errors.size(), 2u);
  EXPECT_EQ(errors[0].where.file, "man_errnos.tsv");
  EXPECT_EQ(errors[1].where.file, "man_errnos.tsv");
  EXPECT_EQ(errors[2].where.file, "t.toml");
  for (size_t i = 3; i < errors.size(); ++i) {
    EXPECT_EQ(errors[i].where.file, "t.toml");
    EXPECT_LE(errors[i - 1].where.line, errors[i].where.line) << all(errors);
  }
}

// toml++ stops at a syntax error; the reader reads on table by table.
TEST(KnowledgeBaseReader, ReportsEverySyntaxError) {
  std::vector<base::Diagnostic> errors = read_errors(
      "[syscall.read]\n"
      "fd = = 0\n"  // 2: syntax
      "[syscall.write]\n"
      "fd = 0\n"
      "transient = [\"EIO\"\n"  // 5: unterminated array
      "[syscall.close]\n"
      "never_retry = 1\n"  // 7: readable, but the wrong type
      "[syscall.open]\n"
      "flags = 1\n");
  EXPECT_EQ(errors.size(), 3u) << all(errors);
  expect_among(errors, 2, "invalid TOML");
  expect_among(errors, 7, "'never_retry' of syscall 'close' must be a string");
  bool second_syntax_error = false;
  for (const base::Diagnostic& e : errors)
    second_syntax_error |= e.where.line >= 5 && e.where.line <= 6 &&
                           e.message.find("invalid TOML") != std::string::npos;
  EXPECT_TRUE(second_syntax_error) << all(errors);
  // A table defined twice is an error only the whole file shows.
  expect_error(only_error("[syscall.read]\nfd = 0\n[syscall.read]\nfd = 0\n"), 3, "invalid TOML");
}

TEST(KnowledgeBaseReader, ReadsBothFiles) {
  kbtables::ReadResult r = kbtables::read_knowledge(
      {"m.tsv",
       "# Generated by ftsc-kbgen from man-pages 1.23 (Debian manpages-dev). Do not edit.\n"
       "write\t1\twrite.2\tENOSPC EWOULDBLOCK EIO\nclose\t3\t-\t\n"},
      {"t.toml",
       "[syscall.write]\nfd = 0\nflags = 2\nnonblock_flags = [\"O_NONBLOCK\", \"MSG_DONTWAIT\"]\n"
       "guards = [\"nonblock_flags\", \"timeout_arg\"]\ntimeout = 1\n"
       "protocol_errnos = [\"EWOULDBLOCK\"]\nside_effects = \"s\"\nwrites_back = \"w\"\n"
       "eintr = \"e\"\ntransient = [\"ENOSPC\", \"EIO\"]\n"
       "[groups.g]\ndescription = \"a group\"\nmembers = [\"write\", \"read\"]\n"});
  ASSERT_TRUE(r.errors.empty()) << all(r.errors);
  const kbtables::KnowledgeData& kb = r.data;
  EXPECT_EQ(kb.man_pages_version, "1.23");
  const SyscallTraits* w = kb.syscall("write");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->documented, (std::vector<int>{EIO, EAGAIN, ENOSPC}));
  EXPECT_EQ(w->nonblock_mask, static_cast<uint64_t>(O_NONBLOCK | MSG_DONTWAIT));
  EXPECT_EQ(w->guards, FTSC_SC_GUARD_NONBLOCK_FLAGS | FTSC_SC_GUARD_TIMEOUT_ARG);
  EXPECT_EQ(w->protocol_errnos, std::vector<int>{EAGAIN});
  EXPECT_EQ(w->transient, (std::vector<int>{EIO, ENOSPC}));
  EXPECT_FALSE(w->idempotent_on_failure);
  EXPECT_EQ(w->side_effect_note, "s");
  EXPECT_TRUE(w->writes_back_on_failure);
  EXPECT_EQ(w->writes_back_note, "w");
  EXPECT_EQ(w->eintr_note, "e");
  EXPECT_EQ(kb.syscall("close")->man_page, "");
  ASSERT_NE(kb.group("g"), nullptr);
  EXPECT_EQ(kb.group("g")->members, (std::vector<int>{0, 1}));
  EXPECT_EQ(kb.group("g")->description, "a group");
}

// ---- ftsc-kbtables as a process -----------------------------------------------

using test::ProcessResult;
using test::run_process;
using test::TempDir;

const std::string kGoodTsv = "# from man-pages 9.99 (test)\nwrite\t1\twrite.2\tEIO ENOSPC\n";

ProcessResult kbtables_run(const TempDir& dir, const std::string& tsv, const std::string& toml) {
  return run_process({FTSC_KBTABLES_BINARY, "--man-errnos", dir.write("m.tsv", tsv), "--traits",
                      dir.write("t.toml", toml), "-o", dir.path() + "/kb_tables.cc"});
}

TEST(KbtablesTool, ReportsEveryErrorAsFileLineAndWritesNothing) {
  TempDir dir;
  const std::string out = dir.path() + "/kb_tables.cc";
  dir.write("kb_tables.cc", "// left by an earlier run\n");
  ProcessResult r = kbtables_run(dir, "write\t1\twrite.2\tEIO ENOSPCE\n",
                                 "[syscall.write]\n"
                                 "transient = [\"ENOSPC\"]\n"
                                 "timout = 1\n"
                                 "[groups.g]\n"
                                 "description = \"d\"\n"
                                 "members = [\"opneat\"]\n");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const std::string tsv = dir.path() + "/m.tsv";
  const std::string toml = dir.path() + "/t.toml";
  EXPECT_NE(
      r.err.find(tsv +
                 ":1: error: unknown errno 'ENOSPCE' for syscall 'write' (did you mean ENOSPC?)\n"),
      std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find(toml +
                 ":3: error: unknown field 'timout' of syscall 'write' (did you mean timeout?"),
      std::string::npos)
      << r.err;
  EXPECT_NE(
      r.err.find(toml +
                 ":6: error: group 'g' names unknown syscall 'opneat' (did you mean openat?)\n"),
      std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("3 errors in the knowledge base"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(out)) << "a failed run must not leave tables to compile";
}

TEST(KbtablesTool, WritesTablesForGoodData) {
  TempDir dir;
  ProcessResult r = kbtables_run(dir, kGoodTsv,
                                 "[syscall.write]\nfd = 0\n"
                                 "eintr = \"a \\\"quoted\\\" note\\\\with a backslash\"\n"
                                 "[groups.g]\ndescription = \"d\"\nmembers = [\"write\"]\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  std::string text = read_file(dir.path() + "/kb_tables.cc");
  EXPECT_NE(text.find(".man_pages_version = \"9.99\""), std::string::npos) << text;
  EXPECT_NE(text.find("{.nr = 1,\n     .name = \"write\",\n     .man_page = \"write.2\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("5 /* EIO */, 28 /* ENOSPC */"), std::string::npos) << text;
  EXPECT_NE(text.find(".eintr_note = \"a \\\"quoted\\\" note\\\\with a backslash\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("{.name = \"g\", .description = \"d\", .members = kGroupMembers0}"),
            std::string::npos)
      << text;
}

TEST(KbtablesTool, RejectsWrongUsageAndUnreadableFiles) {
  EXPECT_EQ(run_process({FTSC_KBTABLES_BINARY}).exit_code, 2);
  EXPECT_EQ(run_process({FTSC_KBTABLES_BINARY, "--traits"}).exit_code, 2);
  ProcessResult r = run_process({FTSC_KBTABLES_BINARY, "--man-errnos", "/nonexistent/m.tsv",
                                 "--traits", "/nonexistent/t.toml", "-o", "/nonexistent/o.cc"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot read '/nonexistent/m.tsv'"), std::string::npos) << r.err;
}

TEST(KbtablesWriter, EscapesEveryByteOfText) {
  kbtables::KnowledgeData data;
  SyscallTraits t;
  t.nr = 0;
  t.name = "read";
  t.eintr_note = std::string("tab\there, newline\nthere, nul\0end", 32);
  data.syscalls.push_back(t);
  std::string text = kbtables::write_tables_source(data, "test data");
  EXPECT_NE(text.find(".eintr_note = \"tab\\011here, newline\\012there, nul\\000end\""),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("from test data."), std::string::npos);
}

}  // namespace
}  // namespace ftsc::kb
