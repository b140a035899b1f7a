// Java's partitioner and the log limiter without a cluster (binary-mode CloudEvents:
// tests/core/cloudevent_test.cc).
#include "connectors/kafka/internal/kafka_internal.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <iostream>
#include <random>

#include "tests/testing/seed.h"

namespace amtsweg::connectors::internal {
namespace {

// Java's org.apache.kafka.common.utils.Utils.murmur2, ported as written.
int32_t JavaMurmur2(std::string_view data) {
  const auto length = static_cast<int32_t>(data.size());
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  uint32_t h = 0x9747b28cu ^ static_cast<uint32_t>(length);
  const int32_t length4 = length / 4;
  auto byte = [&data](int32_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(data[i])); };
  for (int32_t i = 0; i < length4; ++i) {
    const int32_t i4 = i * 4;
    uint32_t k = byte(i4) + (byte(i4 + 1) << 8) + (byte(i4 + 2) << 16) + (byte(i4 + 3) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  switch (length % 4) {
    case 3:
      h ^= byte((length & ~3) + 2) << 16;
      [[fallthrough]];
    case 2:
      h ^= byte((length & ~3) + 1) << 8;
      [[fallthrough]];
    case 1:
      h ^= byte(length & ~3);
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<int32_t>(h);
}

int32_t JavaPartitionReference(std::string_view key, int32_t partitions) {
  return (JavaMurmur2(key) & 0x7fffffff) % partitions;
}

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
