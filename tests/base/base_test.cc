// SPDX-License-Identifier: Apache-2.0
// Durations, did-you-mean, text and errors: the small pieces every parser uses.
#include <cerrno>

#include <gtest/gtest.h>

#include "base/did_you_mean.h"
#include "base/duration.h"
#include "base/result.h"
#include "base/text.h"

namespace ftsc::base {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("10ms").value(), milliseconds(10));
  EXPECT_EQ(parse_duration("1.5s").value(), milliseconds(1500));
  EXPECT_EQ(parse_duration("250us").value(), nanoseconds(250'000));
  EXPECT_EQ(parse_duration("7ns").value(), nanoseconds(7));
  EXPECT_EQ(parse_duration("2m").value(), seconds(120));
  EXPECT_EQ(parse_duration("1h").value(), seconds(3600));
  EXPECT_EQ(parse_duration("0s").value(), nanoseconds(0));
  EXPECT_EQ(parse_duration("0.001s").value(), milliseconds(1));
}

TEST(Duration, RejectsMalformedInput) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c :
       {Case{"", "empty"}, Case{"10", "no unit"}, Case{"ms", "does not start"},
        Case{"-5ms", "negative"}, Case{"10 ms", "unknown unit ' ms'"},
        Case{"10sec", "unknown unit 'sec'"}, Case{"1.2.3s", "unknown unit"},
        Case{"99999999999999999999s", "too large"}, Case{"9999999999999h", "too long"},
        Case{"9223372036854775.999us", "too long"}}) {
    Result<Nanos> r = parse_duration(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.why), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(std::string("'") + c.text + "'"), std::string::npos);
    EXPECT_FALSE(r.error().hint.empty());
  }
}

TEST(Duration, FormatsShortestExactForm) {
  EXPECT_EQ(format_duration(milliseconds(10)), "10ms");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(format_duration(milliseconds(1250)), "1250ms");
  EXPECT_EQ(format_duration(seconds(60)), "1m");
  EXPECT_EQ(format_duration(seconds(90)), "1.5m");
  EXPECT_EQ(format_duration(nanoseconds(0)), "0s");
  EXPECT_EQ(format_duration(nanoseconds(7)), "7ns");
  for (Nanos d :
       {Nanos(milliseconds(160)), Nanos(milliseconds(2)), Nanos(123456789), Nanos(seconds(3))})
    EXPECT_EQ(parse_duration(format_duration(d)).value(), d) << format_duration(d);
}

TEST(DidYouMean, FindsCloseNames) {
  std::vector<std::string_view> names = {"ENOENT", "ENOSPC", "ENOMEM", "EINTR"};
  EXPECT_EQ(did_you_mean("ENOSPCE", names), "did you mean ENOSPC?");
  EXPECT_EQ(did_you_mean("enoent", names), "did you mean ENOENT?");
  EXPECT_EQ(did_you_mean("EITNR", names), "did you mean EINTR?");  // a transposition
  EXPECT_EQ(did_you_mean("ECONNREFUSED", names), "");
  EXPECT_EQ(did_you_mean("", names), "");
}

TEST(Text, TrimRemovesTheBlanksAskedFor) {
  EXPECT_EQ(trim("  \t read \r\n"), "read");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("\tread ", " "), "\tread");  // a tab is kept when only spaces are blanks
}

TEST(Text, ShownMakesAUsersTextSafeForOneLine) {
  EXPECT_EQ(shown("openat"), "openat");
  EXPECT_EQ(shown("a\nb\x7f"), "a?b?");
  const std::string longer(kShownMax + 10, 'x');
  EXPECT_EQ(shown(longer), std::string(kShownMax, 'x') + "...");
  EXPECT_EQ(shown(std::string(kShownMax, 'y')), std::string(kShownMax, 'y'));
}

TEST(SystemError, KeepsTheErrnoAndSaysIt) {
  Error e = system_error("cannot open 'x'", ENOENT, "create it");
  EXPECT_EQ(e.message, "cannot open 'x': No such file or directory");
  EXPECT_EQ(e.sys_errno, ENOENT);
  EXPECT_EQ(e.hint, "create it");
  EXPECT_EQ((Error{"plain", {}, {}}).sys_errno, 0);  // not a system call's failure
}

}  // namespace
}  // namespace ftsc::base
