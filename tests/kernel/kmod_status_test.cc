// SPDX-License-Identifier: Apache-2.0
// kmod_status_test: `ftsc kmod unload` and `status` read the module's status
// file, whose `call:` lines end with the name of a task, and a task names
// itself (prctl(PR_SET_NAME), /proc/self/comm) with any byte but NUL. The
// module escapes names (\ooo); the parser undoes that and refuses a file in
// which a key that comes once comes twice, so that a name can never forge a
// line such as "in_flight: 0". Runs everywhere (label `unit`): the texts are
// those the module prints, and the lane checks the module itself
// (vm/kmod_unload.sh).
#include <gtest/gtest.h>

#include <string>

#include "kmod/control.h"

namespace ftsc::kmod {
namespace {

constexpr const char* kHead =
    "module: ftsc\n"
    "version: 0.1.0\n"
    "abi: policy 1, stats 1\n"
    "policy: loaded\n"
    "loads: 3\n"
    "policy_id: 3\n"
    "mode: enforce\n"
    "target: cgroup=/ftsc\\040test\n"
    "hooked: openat read\n"
    "unhookable:\n"
    "untracked_processes: 0\n"
    "last_error: \n";

TEST(KmodStatus, EscapedNamesAreReadBackAsTheTaskSetThem) {
  const std::string text = std::string(kHead) +
                           "in_flight: 2\n"
                           "call: pid=7 tid=8 syscall=read state=syscall policy=2 "
                           "comm=a\\012in_flight:\\0400\n"
                           "call: pid=9 tid=9 syscall=openat state=backoff policy=3 "
                           "comm=my\\040app\\134x\n";
  auto s = parse_status(text);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->in_flight, 2);
  ASSERT_EQ(s->calls.size(), 2u);
  EXPECT_EQ(s->calls[0].comm, "a\nin_flight: 0");
  EXPECT_EQ(s->calls[0].pid, 7);
  EXPECT_EQ(s->calls[0].tid, 8);
  EXPECT_EQ(s->calls[0].syscall, "read");
  EXPECT_FALSE(s->calls[0].waiting);
  EXPECT_EQ(s->calls[0].policy_id, 2u);
  EXPECT_EQ(s->calls[1].comm, "my app\\x");
  EXPECT_TRUE(s->calls[1].waiting);
  EXPECT_EQ(s->calls[1].policy_id, 3u);
  EXPECT_EQ(s->target, "cgroup=/ftsc\\040test");
  EXPECT_EQ(s->version, "0.1.0");
  // Shown to the user, a control character stays visible and on its line.
  EXPECT_EQ(describe_calls(s->calls),
            "  pid 7 (a\\012in_flight: 0), thread 8, inside read\n"
            "  pid 9 (my app\\x), thread 9, waiting to retry openat\n");
}

// What a module that printed names unescaped let a process named
// "x\nin_flight: 0" write: the file then says both 1 and 0.
TEST(KmodStatus, ALineForgedByANameIsRefused) {
  const std::string text = std::string(kHead) +
                           "in_flight: 1\n"
                           "call: pid=7 tid=7 syscall=read state=syscall comm=x\n"
                           "in_flight: 0\n";
  auto s = parse_status(text);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("second 'in_flight:' line"), std::string::npos)
      << s.error().message;
}

TEST(KmodStatus, MoreCallsThanTheCountIsRefused) {
  const std::string text = std::string(kHead) +
                           "in_flight: 0\n"
                           "call: pid=7 tid=7 syscall=read state=syscall policy=3 comm=x\n";
  EXPECT_FALSE(parse_status(text).ok());
}

TEST(KmodStatus, FieldsAreReadBeforeTheName) {
  // A name that looks like fields does not override them.
  const std::string text = std::string(kHead) +
                           "in_flight: 1\n"
                           "call: pid=7 tid=8 syscall=read state=syscall policy=3 "
                           "comm=pid=1\\040tid=1\\040state=backoff\n";
  auto s = parse_status(text);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(s->calls.size(), 1u);
  EXPECT_EQ(s->calls[0].pid, 7);
  EXPECT_EQ(s->calls[0].tid, 8);
  EXPECT_FALSE(s->calls[0].waiting);
  EXPECT_EQ(s->calls[0].comm, "pid=1 tid=1 state=backoff");
}

TEST(KmodStatus, MalformedCallLinesAreErrors) {
  for (const char* call : {"call: pid=7 tid=8 syscall=read state=syscall\n",
                           "call: pid=x tid=8 syscall=read state=syscall comm=a\n",
                           "call: tid=8 syscall=read state=syscall comm=a\n"}) {
    const std::string text = std::string(kHead) + "in_flight: 1\n" + call;
    EXPECT_FALSE(parse_status(text).ok()) << call;
  }
}

TEST(KmodStatus, UnescapeLeavesWhatIsNotAnEscapeAlone) {
  EXPECT_EQ(unescape_name("a\\134b"), "a\\b");
  EXPECT_EQ(unescape_name("\\377"), "\xff");
  EXPECT_EQ(unescape_name("a\\9bc"), "a\\9bc");
  EXPECT_EQ(unescape_name("a\\12"), "a\\12");
  EXPECT_EQ(unescape_name("\\400"), "\\400");
}

}  // namespace
}  // namespace ftsc::kmod
