#include <gtest/gtest.h>

#include "abi/compiled_policy.h"

TEST(Abi, Placeholder) { EXPECT_EQ(FTSC_POLICY_VERSION, 1u); }
