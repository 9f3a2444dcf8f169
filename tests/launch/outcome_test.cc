// SPDX-License-Identifier: Apache-2.0
// How a command ended, in a shell's words.
#include <sys/wait.h>

#include <cerrno>
#include <csignal>

#include <gtest/gtest.h>

#include "launch/outcome.h"

namespace ftsc::launch {
namespace {

TEST(Outcome, AsAShellSeesIt) {
  RunOutcome missing = exec_failure(ENOENT);
  EXPECT_TRUE(missing.exec_failed);
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_EQ(exec_failure(EACCES).exit_code, 126);

  // wait(2) statuses built by the kernel's layout: exit code << 8, or the signal.
  RunOutcome exited = outcome_of_status(7 << 8);
  EXPECT_FALSE(exited.signaled);
  EXPECT_EQ(exited.exit_code, 7);
  RunOutcome killed = outcome_of_status(SIGTERM);
  ASSERT_TRUE(WIFSIGNALED(SIGTERM));
  EXPECT_TRUE(killed.signaled);
  EXPECT_EQ(killed.term_signal, SIGTERM);
  EXPECT_EQ(killed.exit_code, 128 + SIGTERM);
}

}  // namespace
}  // namespace ftsc::launch
