// Durations, name tables and suggestions: the small pieces every parser uses.
#include <sys/syscall.h>

#include <cerrno>

#include <gtest/gtest.h>

#include "base/did_you_mean.h"
#include "base/duration.h"
#include "kb/errno_table.h"
#include "kb/syscall_table.h"

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

TEST(SyscallTable, ComesFromLibseccomp) {
  EXPECT_EQ(kb::syscall_number("read"), SYS_read);
  EXPECT_EQ(kb::syscall_number("openat"), SYS_openat);
  EXPECT_EQ(kb::syscall_number("clone3"), SYS_clone3);
  EXPECT_EQ(kb::syscall_number("not_a_syscall"), std::nullopt);
  EXPECT_EQ(kb::syscall_name(SYS_mmap), "mmap");
  EXPECT_EQ(kb::syscall_name(-1), "");
  EXPECT_EQ(kb::syscall_name(100000), "");
  EXPECT_GT(kb::all_syscalls().size(), 330u);
  for (const kb::SyscallName& s : kb::all_syscalls())
    EXPECT_EQ(kb::syscall_number(s.name), s.nr);
}

TEST(ErrnoTable, ComesFromGlibc) {
  EXPECT_EQ(kb::errno_value("ENOENT"), ENOENT);
  EXPECT_EQ(kb::errno_value("EWOULDBLOCK"), EAGAIN);
  EXPECT_EQ(kb::errno_value("ENOTSUP"), EOPNOTSUPP);
  EXPECT_EQ(kb::errno_value("EDEADLOCK"), EDEADLK);
  EXPECT_EQ(kb::errno_value("enoent"), std::nullopt);
  EXPECT_EQ(kb::errno_name(ENOSPC), "ENOSPC");
  EXPECT_EQ(kb::errno_name(0), "");
  EXPECT_GT(kb::all_errnos().size(), 120u);
}

TEST(Suggest, FindsCloseNames) {
  std::vector<std::string_view> names = {"ENOENT", "ENOSPC", "ENOMEM", "EINTR"};
  EXPECT_EQ(did_you_mean("ENOSPCE", names), "did you mean ENOSPC?");
  EXPECT_EQ(did_you_mean("enoent", names), "did you mean ENOENT?");
  EXPECT_EQ(did_you_mean("EITNR", names), "did you mean EINTR?");  // a transposition
  EXPECT_EQ(did_you_mean("ECONNREFUSED", names), "");
  EXPECT_EQ(did_you_mean("", names), "");
}

}  // namespace
}  // namespace ftsc::base
