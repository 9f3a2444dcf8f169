// The knowledge base: the built-in data loads and says what it should, every
// name in data/traits.toml exists, and every kind of mistake in the data files
// is reported with file:line and a suggestion.
#include "core/knowledge_base.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

#include "abi/compiled_policy.h"
#include "core/errno_table.h"
#include "core/syscall_table.h"
#include "data/embedded.h"

namespace ftsc::core {
namespace {

const std::string kTraitsPath = std::string(FTSC_SOURCE_DIR) + "/data/traits.toml";

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

TEST(KnowledgeBase, BuiltinDataIsTheCheckedInData) {
  // A stale build would test other data than the repository holds.
  EXPECT_EQ(data::traits_toml(), read_file(kTraitsPath));
  EXPECT_EQ(data::man_errnos_tsv(),
            read_file(std::string(FTSC_SOURCE_DIR) + "/data/man_errnos.tsv"));
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

// ---- parse() errors ---------------------------------------------------------

Error parse_error(std::string_view toml, std::string_view tsv = "") {
  auto r = KnowledgeBase::parse(tsv, toml, "t.toml");
  EXPECT_FALSE(r.ok()) << "parsed:\n" << toml;
  if (r.ok())
    return {};
  return r.error();
}

void expect_error(const Error& e, int line, std::string_view message, std::string_view hint = "") {
  EXPECT_EQ(e.where.line, line) << e.message;
  EXPECT_NE(e.message.find(message), std::string::npos) << e.message;
  EXPECT_NE(e.hint.find(hint), std::string::npos) << e.hint;
}

TEST(KnowledgeBase, ParseAcceptsEmptyData) {
  auto r = KnowledgeBase::parse("", "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->syscalls().size(), all_syscalls().size());
  EXPECT_EQ(r->man_pages_version(), "unknown");
}

TEST(KnowledgeBase, ParseRejectsBadToml) {
  Error e = parse_error("[syscall.read]\nfd = 0\nflags = = 1\n");
  EXPECT_EQ(e.where.file, "t.toml");
  expect_error(e, 3, "invalid TOML");
  EXPECT_EQ(e.where.str(), "t.toml:3");
}

TEST(KnowledgeBase, ParseRejectsUnknownSyscall) {
  expect_error(parse_error("\n[syscall.raed]\nfd = 0\n"), 2, "unknown syscall 'raed'",
               "did you mean read?");
}

TEST(KnowledgeBase, ParseRejectsUnknownErrno) {
  expect_error(parse_error("[syscall.write]\nfd = 0\ntransient = [\"EDQUOT\",\n \"ENOSPCE\"]\n"), 4,
               "unknown errno 'ENOSPCE'", "did you mean ENOSPC?");
}

TEST(KnowledgeBase, ParseRejectsUnknownField) {
  expect_error(parse_error("[syscall.ppoll]\n\ntimout = 2\n"), 3, "unknown field 'timout'",
               "did you mean timeout?");
}

TEST(KnowledgeBase, ParseRejectsUnknownFlagCommandAndGuard) {
  expect_error(parse_error("[syscall.recvfrom]\nfd = 0\nflags = 3\nnonblock_flags = "
                           "[\"MSG_DONTWAI\"]\nguards = [\"nonblock_flags\"]\n"
                           "protocol_errnos = [\"EAGAIN\"]\n"),
               4, "unknown non-blocking flag 'MSG_DONTWAI'", "did you mean MSG_DONTWAIT?");
  expect_error(parse_error("[syscall.fcntl]\nfd = 0\nflags = 1\nnonblock_cmds = [\"F_SETLCK\"]\n"),
               4, "unknown non-blocking command 'F_SETLCK'", "did you mean F_SETLK?");
  expect_error(parse_error("[syscall.read]\nfd = 0\nguards = [\"nonblock_fdd\"]\n"), 3,
               "unknown guard 'nonblock_fdd'", "did you mean nonblock_fd?");
}

TEST(KnowledgeBase, ParseRejectsWrongTypes) {
  expect_error(parse_error("[syscall.read]\nfd = \"0\"\n"), 2, "'fd' of syscall 'read' must be");
  expect_error(parse_error("[syscall.read]\nfd = 7\n"), 2, "argument index 0-5");
  expect_error(parse_error("[syscall.read]\ntransient = \"EIO\"\n"), 2, "an array of strings");
  expect_error(parse_error("[syscall.read]\ntransient = [\"EIO\", 5]\n"), 2, "must be a string");
  expect_error(parse_error("[syscall.close]\nnever_retry = true\n"), 2,
               "'never_retry' of syscall 'close' must be a string");
  expect_error(parse_error("syscall = 3\n"), 1, "'syscall' must be a table");
  expect_error(parse_error("[sycall.read]\nfd = 0\n"), 1, "unknown top-level key 'sycall'",
               "did you mean syscall?");
}

TEST(KnowledgeBase, ParseRejectsInconsistentGuards) {
  expect_error(parse_error("[syscall.read]\nguards = [\"nonblock_fd\"]\n"
                           "protocol_errnos = [\"EAGAIN\"]\n"),
               2, "guard 'nonblock_fd' of syscall 'read' needs 'fd'");
  expect_error(parse_error("[syscall.read]\nfd = 0\nguards = [\"nonblock_fd\"]\n"), 3,
               "need 'protocol_errnos'");
  expect_error(parse_error("[syscall.read]\nfd = 0\nprotocol_errnos = [\"EAGAIN\"]\n"), 1,
               "need 'guards'");
  expect_error(parse_error("[syscall.fcntl]\nfd = 0\nflags = 1\nguards = [\"nonblock_cmd\"]\n"
                           "protocol_errnos = [\"EAGAIN\", \"EACCES\", \"EINTR\", \"EIO\"]\n"),
               5, "room for 3");
  expect_error(parse_error("[syscall.close]\nnever_retry = \"x\"\ntransient = [\"EIO\"]\n"), 1,
               "never_retry but lists transient");
}

TEST(KnowledgeBase, ParseRejectsBadGroups) {
  expect_error(parse_error("[groups.file]\ndescription = \"d\"\nmembers = [\"open\",\n"
                           "  \"opneat\"]\n"),
               4, "group 'file' names unknown syscall 'opneat'", "did you mean openat?");
  expect_error(parse_error("[groups.file]\ndescription = \"d\"\nmembers = [\"open\", \"open\"]\n"),
               3, "listed twice");
  expect_error(parse_error("[groups.file]\ndescription = \"d\"\nmember = [\"open\"]\n"), 3,
               "unknown field 'member'", "did you mean members?");
  expect_error(parse_error("[groups.file]\nmembers = [\"open\"]\n"), 1, "no 'description'");
}

TEST(KnowledgeBase, ParseRejectsBadManErrnos) {
  const std::string ok_toml;
  auto tsv_error = [&](std::string_view tsv) {
    auto r = KnowledgeBase::parse(tsv, ok_toml);
    EXPECT_FALSE(r.ok()) << tsv;
    return r.ok() ? Error{} : r.error();
  };
  Error e = tsv_error("# header\nwrite\t1\twrite.2\tEIO ENOSPCE\n");
  EXPECT_EQ(e.where.str(), "man_errnos.tsv:2");
  expect_error(e, 2, "unknown errno 'ENOSPCE'", "did you mean ENOSPC?");
  expect_error(tsv_error("wirte\t1\twrite.2\tEIO\n"), 1, "unknown syscall 'wirte'",
               "did you mean write?");
  expect_error(tsv_error("write\t2\twrite.2\tEIO\n"), 1, "number 2 here but 1 in libseccomp");
  expect_error(tsv_error("write\t1\twrite.2\n"), 1, "expected 4 tab-separated fields");
  expect_error(tsv_error("write\t1\twrite.2\tEIO\nwrite\t1\twrite.2\tEIO\n"), 2, "listed twice");
}

TEST(KnowledgeBase, ParseReadsBothFiles) {
  auto r = KnowledgeBase::parse(
      "# Generated by ftsc-kbgen from man-pages 1.23 (Debian manpages-dev). Do not edit.\n"
      "write\t1\twrite.2\tENOSPC EWOULDBLOCK EIO\nclose\t3\t-\t\n",
      "[syscall.write]\nfd = 0\nflags = 2\nnonblock_flags = [\"O_NONBLOCK\", \"MSG_DONTWAIT\"]\n"
      "guards = [\"nonblock_flags\", \"timeout_arg\"]\ntimeout = 1\n"
      "protocol_errnos = [\"EWOULDBLOCK\"]\nside_effects = \"s\"\nwrites_back = \"w\"\n"
      "eintr = \"e\"\ntransient = [\"ENOSPC\", \"EIO\"]\n"
      "[groups.g]\ndescription = \"a group\"\nmembers = [\"write\", \"read\"]\n");
  ASSERT_TRUE(r.ok()) << r.error().where.str() << ": " << r.error().message;
  const KnowledgeBase& kb = *r;
  EXPECT_EQ(kb.man_pages_version(), "1.23");
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
  EXPECT_EQ(*kb.group("g"), (std::vector<int>{0, 1}));
  EXPECT_EQ(kb.group_description("g"), "a group");
}

}  // namespace
}  // namespace ftsc::core
