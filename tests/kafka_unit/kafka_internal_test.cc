// Java's partitioner without a cluster (binary-mode CloudEvents: tests/core/cloudevent_test.cc).
#include "connectors/kafka/internal/kafka_internal.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>

#include "tests/testing/seed.h"

namespace amtsweg::connectors::internal {
namespace {

TEST(JavaPartitionTest, MatchesKafkasMurmur2TestVectors) {
  // From Kafka's UtilsTest.testMurmur2.
  const std::vector<std::pair<std::string, int32_t>> vectors = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
  };
  for (const auto& [key, hash] : vectors) {
    EXPECT_EQ(JavaMurmur2(key), hash) << key;
    for (int32_t n : {1, 2, 3, 7, 12, 64}) {
      EXPECT_EQ(JavaPartition(key, n), (hash & 0x7fffffff) % n) << key << " / " << n;
    }
  }
}

TEST(JavaPartitionTest, MatchesJavaForRandomKeys) {
  const uint64_t seed = amtsweg::testing::TestSeed();
  SCOPED_TRACE("AMTSWEG_TEST_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 2000; ++i) {
    std::string key(rng() % 40, '\0');
    for (char& c : key)
      c = static_cast<char>(rng() & 0xff);
    int32_t n = static_cast<int32_t>(rng() % 100) + 1;
    ASSERT_EQ(JavaPartition(key, n), JavaPartitionReference(key, n))
        << "key of " << key.size() << " bytes, " << n << " partitions";
  }
}

TEST(LogLimiterTest, HoldsBackRepeatsWithinTheInterval) {
  LogLimiter limiter(std::chrono::hours(1));
  uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.Allow("a", &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(limiter.Allow("a", &suppressed));
  EXPECT_FALSE(limiter.Allow("a", &suppressed));
  EXPECT_TRUE(limiter.Allow("b", &suppressed));
  LogLimiter always(std::chrono::seconds(0));
  EXPECT_TRUE(always.Allow("a", &suppressed));
  EXPECT_TRUE(always.Allow("a", &suppressed));
}

}  // namespace
}  // namespace amtsweg::connectors::internal
