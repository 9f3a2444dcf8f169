// SPDX-License-Identifier: Apache-2.0
// The syscall and errno names: libseccomp's and glibc's, never typed by hand.
#include <sys/syscall.h>

#include <cerrno>

#include <gtest/gtest.h>

#include "kb/errno_table.h"
#include "kb/syscall_table.h"

namespace ftsc::kb {
namespace {

TEST(SyscallTable, ComesFromLibseccomp) {
  EXPECT_EQ(syscall_number("read"), SYS_read);
  EXPECT_EQ(syscall_number("openat"), SYS_openat);
  EXPECT_EQ(syscall_number("clone3"), SYS_clone3);
  EXPECT_EQ(syscall_number("not_a_syscall"), std::nullopt);
  EXPECT_EQ(syscall_name(SYS_mmap), "mmap");
  EXPECT_EQ(syscall_name(-1), "");
  EXPECT_EQ(syscall_name(100000), "");
  EXPECT_GT(all_syscalls().size(), 330u);
  for (const SyscallName& s : all_syscalls())
    EXPECT_EQ(syscall_number(s.name), s.nr);
}

TEST(ErrnoTable, ComesFromGlibc) {
  EXPECT_EQ(errno_value("ENOENT"), ENOENT);
  EXPECT_EQ(errno_value("EWOULDBLOCK"), EAGAIN);
  EXPECT_EQ(errno_value("ENOTSUP"), EOPNOTSUPP);
  EXPECT_EQ(errno_value("EDEADLOCK"), EDEADLK);
  EXPECT_EQ(errno_value("enoent"), std::nullopt);
  EXPECT_EQ(errno_name(ENOSPC), "ENOSPC");
  EXPECT_EQ(errno_name(0), "");
  EXPECT_GT(all_errnos().size(), 120u);
}

}  // namespace
}  // namespace ftsc::kb
