// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "abi/compiled_policy.h"
#include "abi/stats.h"

namespace {

TEST(Abi, CellEncoding) {
  for (unsigned d = 0; d < 4; ++d)
    for (unsigned s = 0; s < FTSC_SCHEDULES_MAX; ++s) {
      uint8_t c = FTSC_CELL_MAKE(d, s);
      EXPECT_EQ(FTSC_CELL_DECISION(c), d);
      EXPECT_EQ(FTSC_CELL_SCHEDULE(c), s);
    }
}

TEST(Abi, StatsKeysRoundTrip) {
  for (int nr : {0, 1, 257, 511})
    for (int err : {1, 2, 133, 512, 4095}) {
      uint32_t key = FTSC_STATS_KEY(nr, err);
      EXPECT_NE(key, 0u);
      EXPECT_EQ(FTSC_STATS_KEY_NR(key), nr);
      EXPECT_EQ(FTSC_STATS_KEY_ERRNO(key), err);
    }
}

TEST(Abi, StatsSlotsAreClaimedOnceUnderContention) {
  static ftsc_stats stats;
  ftsc_stats_init(&stats);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([] {
      for (int i = 0; i < 10000; ++i) {
        ftsc_stats_slot* s = ftsc_stats_slot_for(&stats, i % 100, 1 + i % 7);
        ASSERT_NE(s, nullptr);
        ftsc_stats_add(&s->calls, 1);
      }
    });
  for (auto& t : threads)
    t.join();
  uint64_t total = 0;
  int used = 0;
  for (const ftsc_stats_slot& s : stats.slots) {
    total += s.calls;
    used += s.key != 0;
  }
  EXPECT_EQ(total, 40000u);
  EXPECT_EQ(used, 700);  // every (nr, errno) pair of the loop: 100 x 7
}

TEST(Abi, FullStatsTableDropsInsteadOfOverwriting) {
  static ftsc_stats stats;
  ftsc_stats_init(&stats);
  for (uint32_t i = 0; i < FTSC_STATS_SLOTS; ++i)
    ASSERT_NE(ftsc_stats_slot_for(&stats, static_cast<long>(i % 512), 1 + i / 512), nullptr);
  EXPECT_EQ(ftsc_stats_slot_for(&stats, 0, 99), nullptr);
  EXPECT_EQ(stats.dropped, 1u);
  EXPECT_NE(ftsc_stats_slot_for(&stats, 3, 1), nullptr);  // existing keys still found
}

}  // namespace
