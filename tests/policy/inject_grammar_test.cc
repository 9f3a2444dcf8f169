// SPDX-License-Identifier: Apache-2.0
// The --inject grammar: what it accepts, and one clear error for each mistake.
#include "policy/inject_grammar.h"

#include <gtest/gtest.h>

#include <ostream>

#include <cstdint>
#include <string>

namespace ftsc::policy {
namespace {

const base::SourceLoc kFlag{"--inject", 0, 0};

InjectSpec parse_ok(std::string_view text) {
  base::Result<InjectSpec> r = parse_inject_spec(text, kFlag);
  EXPECT_TRUE(r.ok()) << text << ": " << (r.ok() ? "" : r.error().message + " / " + r.error().hint);
  return r.ok() ? *r : InjectSpec{};
}

base::Error parse_error(std::string_view text) {
  base::Result<InjectSpec> r = parse_inject_spec(text, kFlag);
  EXPECT_FALSE(r.ok()) << text << " was accepted";
  return r.ok() ? base::Error{} : r.error();
}

bool contains(const std::string& s, std::string_view part) {
  return s.find(part) != std::string::npos;
}

TEST(InjectGrammar, MinimalSpecFailsEveryAttempt) {
  InjectSpec s = parse_ok("openat:error=ENOENT");
  ASSERT_EQ(s.syscalls.size(), 1u);
  EXPECT_EQ(s.syscalls[0].text, "openat");
  EXPECT_EQ(s.syscalls[0].where.file, "--inject");
  EXPECT_EQ(s.error.text, "ENOENT");
  EXPECT_EQ(s.first, 1u);
  EXPECT_EQ(s.last, UINT32_MAX);
  EXPECT_EQ(s.step, 1u);
  EXPECT_FALSE(s.probability.has_value());
  EXPECT_EQ(s.seed, 0u);
  EXPECT_EQ(s.text, "openat:error=ENOENT");
  EXPECT_EQ(s.where.file, "--inject");
}

TEST(InjectGrammar, SyscallListsAndGroupsAreKeptAsWritten) {
  InjectSpec s = parse_ok("openat,read,%file,no_such_call:error=EIO");
  ASSERT_EQ(s.syscalls.size(), 4u);
  EXPECT_EQ(s.syscalls[0].text, "openat");
  EXPECT_EQ(s.syscalls[1].text, "read");
  EXPECT_EQ(s.syscalls[2].text, "%file");
  EXPECT_EQ(s.syscalls[3].text, "no_such_call");  // resolve() checks names, not the parser
  EXPECT_EQ(parse_ok("read:error=ENOSPCE").error.text, "ENOSPCE");
}

TEST(InjectGrammar, ColumnsFollowTheSourceWhenKnown) {
  base::Result<InjectSpec> r =
      parse_inject_spec("  read,write:error=EIO", base::SourceLoc{"p.toml", 3, 10});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->syscalls[0].where.column, 12);
  EXPECT_EQ(r->syscalls[1].where.column, 17);
  EXPECT_EQ(r->error.where.column, 29);
  EXPECT_EQ(r->error.where.line, 3);
  EXPECT_EQ(r->text, "read,write:error=EIO");
}

TEST(InjectGrammar, ErrnoNumbersBecomeNames) {
  EXPECT_EQ(parse_ok("read:error=5").error.text, "EIO");
  EXPECT_EQ(parse_ok("read:error=28").error.text, "ENOSPC");
  EXPECT_EQ(parse_ok("read:error=1").error.text, "EPERM");
  EXPECT_EQ(parse_ok("read:error=511").error.text, "511");  // no glibc name: kept as a number
  EXPECT_EQ(parse_ok("read:error=EWOULDBLOCK").error.text, "EWOULDBLOCK");
}

TEST(InjectGrammar, WhenForms) {
  struct Case {
    const char* when;
    uint32_t first, last, step;
  };
  for (Case c : {Case{"3", 3, 3, 1}, Case{"1..2", 1, 2, 1}, Case{"2+", 2, UINT32_MAX, 1},
                 Case{"2+3", 2, UINT32_MAX, 3}, Case{"1..10+3", 1, 10, 3}, Case{"5..5", 5, 5, 1},
                 Case{"4294967294", 4294967294u, 4294967294u, 1}}) {
    SCOPED_TRACE(c.when);
    InjectSpec s = parse_ok(std::string("read:error=EIO:when=") + c.when);
    EXPECT_EQ(s.first, c.first);
    EXPECT_EQ(s.last, c.last);
    EXPECT_EQ(s.step, c.step);
  }
}

TEST(InjectGrammar, ProbabilityAndSeed) {
  InjectSpec s = parse_ok("write:error=ENOSPC:p=0.25:seed=42");
  ASSERT_TRUE(s.probability.has_value());
  EXPECT_DOUBLE_EQ(*s.probability, 0.25);
  EXPECT_EQ(s.seed, 42u);
  EXPECT_DOUBLE_EQ(*parse_ok("write:error=EIO:p=10%").probability, 0.1);
  EXPECT_DOUBLE_EQ(*parse_ok("write:error=EIO:p=100%").probability, 1.0);
  EXPECT_DOUBLE_EQ(*parse_ok("write:error=EIO:p=1").probability, 1.0);
  EXPECT_DOUBLE_EQ(*parse_ok("write:error=EIO:p=.5").probability, 0.5);
  EXPECT_DOUBLE_EQ(*parse_ok("write:error=EIO:p=0.5%").probability, 0.005);
  EXPECT_EQ(parse_ok("write:error=EIO:p=0.1:seed=18446744073709551615").seed, UINT64_MAX);
}

TEST(InjectGrammar, OptionsInAnyOrder) {
  InjectSpec s = parse_ok("read:seed=7:when=2..4:p=0.5:error=EAGAIN");
  EXPECT_EQ(s.error.text, "EAGAIN");
  EXPECT_EQ(s.first, 2u);
  EXPECT_EQ(s.last, 4u);
  EXPECT_EQ(s.seed, 7u);
  EXPECT_DOUBLE_EQ(*s.probability, 0.5);
}

// Each malformed input: the message names the offending part, and there is a hint.
struct Bad {
  const char* text;
  const char* message_part;
  const char* hint_part;
};

// Test names show the input, not the parameter's bytes.
void PrintTo(const Bad& b, std::ostream* os) {
  *os << '"' << b.text << '"';
}

class InjectGrammarErrors : public ::testing::TestWithParam<Bad> {};

TEST_P(InjectGrammarErrors, SaysWhatIsWrongAndWhatToDo) {
  const Bad& b = GetParam();
  base::Error e = parse_error(b.text);
  EXPECT_TRUE(contains(e.message, b.message_part)) << e.message;
  EXPECT_TRUE(contains(e.hint, b.hint_part)) << e.hint;
  EXPECT_FALSE(e.hint.empty());
  EXPECT_EQ(e.where.file, "--inject");
  if (std::string_view(b.text).find_first_not_of(" ") != std::string_view::npos) {
    EXPECT_TRUE(contains(e.message, std::string_view(b.text).substr(0, 4))) << e.message;
  }
}

INSTANTIATE_TEST_SUITE_P(
    InjectGrammar, InjectGrammarErrors,
    ::testing::Values(
        Bad{"", "it is empty", "error=ERRNO"}, Bad{"   ", "it is empty", "error=ERRNO"},
        Bad{"openat", "no error=", "openat:error=EIO"},
        Bad{"openat:when=2", "no error=", "error=EIO"},
        Bad{":error=EIO", "syscall list is empty", "openat:error=EIO"},
        Bad{"error=EIO", "'error=EIO' is an option", "openat:error=EIO"},
        Bad{"open,,read:error=EIO", "empty syscall name in 'open,,read'", "single commas"},
        Bad{"open,:error=EIO", "empty syscall name", "single commas"},
        Bad{"!open:error=EIO", "strace's '!' qualifier", "%group"},
        Bad{"/^open:error=EIO", "strace's '/' qualifier", "%group"},
        Bad{"op-en:error=EIO", "malformed syscall name 'op-en'", "letters, digits"},
        Bad{"%:error=EIO", "malformed syscall name '%'", "%file"},
        Bad{"open:erorr=EIO", "unknown key 'erorr'", "did you mean error?"},
        Bad{"open:error=EIO:wen=2", "unknown key 'wen'", "did you mean when?"},
        Bad{"open:error=EIO:prob=0.5", "unknown key 'prob'", "error, when, p and seed"},
        Bad{"open:error=EIO:retval=3", "strace's 'retval=' is not supported", "error=ERRNO"},
        Bad{"open:error=EIO:signal=SIGSEGV", "strace's 'signal=' is not supported", "error="},
        Bad{"open:EIO", "option 'EIO' has no key", "did you mean error=EIO?"},
        Bad{"open:error", "'error=' has no value", "error=EIO"},
        Bad{"open:error=EIO:foo", "option 'foo' is not KEY=VALUE", "error=ERRNO"},
        Bad{"open:error=", "'error=' has no value", "error=EIO"},
        Bad{"open:error=EIO:when=", "'when=' has no value", "when=1..2"},
        Bad{"open:error=EIO:p=", "'p=' has no value", "p=0.1"},
        Bad{"open:error=EIO:p=0.1:seed=", "'seed=' has no value", "seed=42"},
        Bad{"open:error=EIO:error=EAGAIN", "'error=' is given twice", "once"},
        Bad{"open:error=EIO:when=1:when=2", "'when=' is given twice", "once"},
        Bad{"open:error=EIO:", "it ends with ':'", "single colons"},
        Bad{"open::error=EIO", "empty option ('::')", "single colons"},
        Bad{"open:error=0", "errno number 0 is out of range", "1..511"},
        // 512 and above are the kernel's internal restart codes: never injected.
        Bad{"open:error=512", "errno number 512 is out of range", "internal restart codes"},
        Bad{"open:error=4095", "errno number 4095 is out of range", "1..511"},
        Bad{"open:error=99999999999", "errno number 99999999999 is out of range", "1..511"},
        Bad{"open:error=-5", "error=-5 has a sign", "without a sign"},
        Bad{"open:error=5x", "unexpected 'x' after the number 5", "EIO"},
        Bad{"open:error=E IO", "malformed errno 'E IO'", "EIO"},
        Bad{"open:error=EIO:when=0", "when=0: attempts are counted from 1", "when=1"},
        Bad{"open:error=EIO:when=0..3", "when=0..3: attempts are counted from 1", "when=1"},
        Bad{"open:error=EIO:when=5..2", "when=5..2: the range ends before it starts", "when=2..5"},
        Bad{"open:error=EIO:when=2+0", "the step must be at least 1", "FIRST+1"},
        Bad{"open:error=EIO:when=1..4+0", "the step must be at least 1", "FIRST+1"},
        Bad{"open:error=EIO:when=1..4+", "'+' after a range needs a STEP", "when=1..4+2"},
        Bad{"open:error=EIO:when=3x", "when=3x: unexpected 'x' after '3'", "FIRST..LAST"},
        Bad{"open:error=EIO:when=1..2..3", "unexpected '..3' after '1..2'", "FIRST..LAST"},
        Bad{"open:error=EIO:when=1.2", "unexpected '.2' after '1'", "FIRST..LAST"},
        Bad{"open:error=EIO:when=..3", "expected FIRST at '..3'", "FIRST"},
        Bad{"open:error=EIO:when=2..", "LAST is missing at the end", "FIRST..LAST"},
        Bad{"open:error=EIO:when=-1", "expected FIRST at '-1'", "FIRST"},
        Bad{"open:error=EIO:when=4294967295", "FIRST 4294967295 is too large", "FIRST"},
        Bad{"open:error=EIO:when=1..99999999999", "LAST 99999999999 is too large", "FIRST"},
        Bad{"open:error=EIO:p=0", "p=0 never injects anything", "drop it"},
        Bad{"open:error=EIO:p=0%", "p=0% never injects anything", "above 0"},
        Bad{"open:error=EIO:p=1.5", "p=1.5 is more than 1", "at most 1"},
        Bad{"open:error=EIO:p=150%", "p=150% is more than 100%", "p=10%"},
        Bad{"open:error=EIO:p=-0.5", "p=-0.5 is not a decimal number", "p=0.1"},
        Bad{"open:error=EIO:p=abc", "p=abc is not a decimal number", "p=0.1"},
        Bad{"open:error=EIO:p=1e-3", "p=1e-3 is not a decimal number", "p=0.1"},
        Bad{"open:error=EIO:p=0.1.2", "p=0.1.2 is not a decimal number", "p=0.1"},
        Bad{"open:error=EIO:p=%", "p=% is not a decimal number", "p=0.1"},
        Bad{"open:error=EIO:p=.", "p=. is not a decimal number", "p=0.1"},
        Bad{"open:error=EIO:p=0.5:seed=abc", "seed=abc is not a number", "seed=42"},
        Bad{"open:error=EIO:p=0.5:seed=-1", "seed=-1 is not a number", "seed=42"},
        Bad{"open:error=EIO:p=0.5:seed=18446744073709551616", "is not a number", "seed=42"},
        Bad{"open:error=EIO:p=0.5:seed=4x", "seed=4x is not a number", "seed=42"},
        Bad{"open:error=EIO:seed=4", "seed= only matters with p=", "p=PROBABILITY"}));

TEST(InjectGrammar, ErrorsQuoteTheWholeInjection) {
  base::Error e = parse_error("openat:error=EIO:when=5..2");
  EXPECT_EQ(e.message,
            "invalid injection 'openat:error=EIO:when=5..2': when=5..2: the range ends before it "
            "starts");
  EXPECT_EQ(e.hint, "write FIRST..LAST with LAST >= FIRST, e.g. when=2..5");
  base::Result<InjectSpec> r = parse_inject_spec("x:erorr=1", base::SourceLoc{"policy.toml", 7, 0});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where.str(), "policy.toml:7");
}

}  // namespace
}  // namespace ftsc::policy
