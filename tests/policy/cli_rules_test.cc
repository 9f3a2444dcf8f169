// SPDX-License-Identifier: Apache-2.0
#include "policy/cli_rules.h"

#include <string>

#include <gtest/gtest.h>

namespace ftsc::policy {
namespace {

using std::chrono::milliseconds;

std::vector<std::string> texts(const std::vector<Named>& names) {
  std::vector<std::string> out;
  for (const Named& n : names)
    out.push_back(n.text);
  return out;
}

// The flag fails with a message containing `message`; the hint shows the expected form.
void expect_retry_error(std::string_view value, std::string_view message) {
  auto r = parse_retry_flag(value);
  ASSERT_FALSE(r.ok()) << "accepted: " << value;
  EXPECT_NE(r.error().message.find(message), std::string::npos)
      << "value: " << value << "\nmessage: " << r.error().message;
  EXPECT_NE(r.error().hint.find("--retry SYSCALL[,SYSCALL...]=ERRNO[,ERRNO...]"), std::string::npos)
      << r.error().hint;
  EXPECT_EQ(r.error().where.file, "--retry");
  EXPECT_EQ(r.error().where.line, 0);
}

void expect_backoff_error(std::string_view value, std::string_view message,
                          std::string_view hint = "--backoff 10ms,50ms,100ms") {
  auto r = parse_backoff_flag(value);
  ASSERT_FALSE(r.ok()) << "accepted: " << value;
  EXPECT_NE(r.error().message.find(message), std::string::npos)
      << "value: " << value << "\nmessage: " << r.error().message;
  EXPECT_NE(r.error().hint.find(hint), std::string::npos) << r.error().hint;
  EXPECT_EQ(r.error().where.file, "--backoff");
  EXPECT_EQ(r.error().where.line, 0);
}

TEST(CliRules, RetryWithSeveralSyscalls) {
  auto r = parse_retry_flag("openat,open=ENOENT");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(texts(r->syscalls), (std::vector<std::string>{"openat", "open"}));
  EXPECT_EQ(texts(r->retry), (std::vector<std::string>{"ENOENT"}));
  EXPECT_TRUE(r->never.empty());
  EXPECT_TRUE(r->undecided.empty());
  EXPECT_FALSE(r->backoff.has_value());
  EXPECT_EQ(r->origin, "--retry");
  EXPECT_EQ(r->where.file, "--retry");
  EXPECT_EQ(r->where.line, 0);
  EXPECT_EQ(r->where.str(), "--retry");
  // Each name knows its column in the value, for messages that point into it.
  EXPECT_EQ(r->syscalls[0].where.file, "--retry");
  EXPECT_EQ(r->syscalls[0].where.column, 1);
  EXPECT_EQ(r->syscalls[1].where.column, 8);
  EXPECT_EQ(r->retry[0].where.column, 13);
}

TEST(CliRules, RetryWithGroupAndSeveralErrnos) {
  auto r = parse_retry_flag("%network=ECONNREFUSED,ETIMEDOUT");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(texts(r->syscalls), (std::vector<std::string>{"%network"}));
  EXPECT_EQ(texts(r->retry), (std::vector<std::string>{"ECONNREFUSED", "ETIMEDOUT"}));
}

TEST(CliRules, RetryKeepsNamesAsWritten) {
  // Names are checked later by resolve(), with suggestions; here they are only split.
  auto r = parse_retry_flag("mmapp=ENOMEMM,12");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(texts(r->syscalls), (std::vector<std::string>{"mmapp"}));
  EXPECT_EQ(texts(r->retry), (std::vector<std::string>{"ENOMEMM", "12"}));
}

TEST(CliRules, RetryEmpty) {
  expect_retry_error("", "empty --retry value");
}

TEST(CliRules, RetryMissingEquals) {
  expect_retry_error("openat", "missing '='");
  expect_retry_error("openat,ENOENT", "missing '='");
}

TEST(CliRules, RetryTwoEquals) {
  expect_retry_error("openat=ENOENT=EAGAIN", "more than one '='");
  auto r = parse_retry_flag("openat=ENOENT=EAGAIN");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where.column, 14);
}

TEST(CliRules, RetryEmptyNames) {
  expect_retry_error("=ENOENT", "no syscall name");
  expect_retry_error("openat=", "no errno name");
  expect_retry_error("=", "no syscall name");
}

TEST(CliRules, RetryStrayCommas) {
  expect_retry_error("openat,,open=ENOENT", "stray ','");
  expect_retry_error(",openat=ENOENT", "stray ','");
  expect_retry_error("openat,=ENOENT", "stray ','");
  expect_retry_error("openat=ENOENT,", "stray ','");
  expect_retry_error("openat=,ENOENT", "stray ','");
  auto r = parse_retry_flag("openat,,open=ENOENT");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where.column, 8);
  EXPECT_NE(r.error().message.find("empty syscall name at column 8"), std::string::npos)
      << r.error().message;
}

TEST(CliRules, RetryStraySpaces) {
  expect_retry_error("openat= ENOENT", "stray space at column 8");
  expect_retry_error("openat, open=ENOENT", "stray space");
  expect_retry_error(" openat=ENOENT", "stray space at column 1");
  expect_retry_error("openat=ENOENT\n", "stray space");
  expect_retry_error("openat=ENOENT\t", "stray space");
}

TEST(CliRules, BackoffList) {
  auto b = parse_backoff_flag("10ms,50ms,100ms");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->form, BackoffSpec::Form::kList);
  EXPECT_EQ(b->delays,
            (std::vector<base::Nanos>{milliseconds(10), milliseconds(50), milliseconds(100)}));
  EXPECT_EQ(b->where.file, "--backoff");
  EXPECT_EQ(b->where.line, 0);
  EXPECT_TRUE(*b == BackoffSpec::paper_default());
}

TEST(CliRules, BackoffSingleAndFractional) {
  auto b = parse_backoff_flag("1.5s");
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->delays, (std::vector<base::Nanos>{milliseconds(1500)}));
  auto z = parse_backoff_flag("0s,250us");
  ASSERT_TRUE(z.ok()) << z.error().message;
  EXPECT_EQ(z->delays, (std::vector<base::Nanos>{base::Nanos(0), std::chrono::microseconds(250)}));
}

TEST(CliRules, BackoffThirtyTwoDelaysAreAllowed) {
  std::string v = "1ms";
  for (int i = 1; i < 32; ++i)
    v += ",1ms";
  auto b = parse_backoff_flag(v);
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(b->delays.size(), 32u);
}

TEST(CliRules, BackoffTooManyDelays) {
  std::string v = "1ms";
  for (int i = 1; i < 33; ++i)
    v += ",1ms";
  expect_backoff_error(v, "33 delays; at most 32", "shorten the list");
}

TEST(CliRules, BackoffEmpty) {
  expect_backoff_error("", "empty --backoff value");
}

TEST(CliRules, BackoffStrayCommasAndSpaces) {
  expect_backoff_error("10ms,,50ms", "stray ','");
  expect_backoff_error("10ms,", "stray ','");
  expect_backoff_error(",10ms", "stray ','");
  expect_backoff_error("10ms, 50ms", "stray space at column 6");
}

TEST(CliRules, BackoffMalformedDurations) {
  expect_backoff_error("10", "malformed duration '10'", "e.g. '10ms'");
  expect_backoff_error("10ms,fast", "malformed duration 'fast'", "--backoff 10ms,50ms,100ms");
  expect_backoff_error("10ms,-5ms", "malformed duration '-5ms'");
  expect_backoff_error("10parsecs", "unknown unit 'parsecs'");
  auto r = parse_backoff_flag("10ms,fast");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().where.column, 6);
}

TEST(CliRules, BackoffDelaysAreAtMostADay) {
  expect_backoff_error("10ms,2562047h", "delay '2562047h' is longer than 24h", "milliseconds");
  auto r = parse_backoff_flag("10ms,24h");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->delays[1], std::chrono::hours(24));
}

TEST(CliRules, BackoffMessagesNameTheFlagOnce) {
  auto r = parse_backoff_flag("junk");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("--backoff"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().where.file, "--backoff");
  expect_backoff_error("10ms,,20ms", "empty delay at column 6");
}

TEST(CliRules, BackoffExponentialFormBelongsInAPolicyFile) {
  expect_backoff_error("base=10ms", "malformed duration", "policy file");
}

}  // namespace
}  // namespace ftsc::policy
