#include "connectors/webhook/signature.h"

#include <gtest/gtest.h>

#include "tests/testing/seed.h"
#include "tests/webhook/test_util.h"

namespace amtsweg::connectors::webhook {
namespace {

TEST(SignatureTest, HmacSha512OfTimestampDotBodyInHex) {
  // The same as: printf '%s' '1672527599.{"a":1}' | openssl dgst -sha512 -hmac geheim
  // and Python's hmac.new(b'geheim', b'1672527599.{"a":1}', hashlib.sha512).hexdigest().
  EXPECT_EQ(Sign("geheim", "1672527599", R"({"a":1})"),
            "bd4246193c1185d69e583da94b50c77795d4e7c13d2eda4d692750428ec8a0f5981a79ea1165b69c"
            "6d21db3853aec10a4ae22d400bb2f993d6a4493e629ffe50");
}

TEST(SignatureTest, VerifyChecksSecretTimestampAndBody) {
  std::string mac = Sign("s3cret", "1700000000", "body");
  EXPECT_TRUE(Verify("s3cret", "1700000000", "body", mac));
  EXPECT_FALSE(Verify("other", "1700000000", "body", mac));
  EXPECT_FALSE(Verify("s3cret", "1700000001", "body", mac));
  EXPECT_FALSE(Verify("s3cret", "1700000000", "body!", mac));
  EXPECT_FALSE(Verify("s3cret", "1700000000", "body", mac.substr(1)));
  EXPECT_FALSE(Verify("s3cret", "1700000000", "body", ""));
}

TEST(BackoffTest, GrowsExponentiallyWithinBoundsAndJitter) {
  const uint64_t seed = testing::TestSeed();
  Backoff backoff(std::chrono::milliseconds(100), std::chrono::milliseconds(5000), seed);
  for (int round = 0; round < 50; ++round) {
    int64_t cap = 100;
    for (uint32_t failures = 1; failures <= 20; ++failures) {
      int64_t d = backoff.Delay(failures).count();
      EXPECT_GE(d, cap / 2) << "failures " << failures;
      EXPECT_LE(d, cap) << "failures " << failures;
      cap = std::min<int64_t>(cap * 2, 5000);
    }
  }
  // The same seed gives the same waits.
  Backoff a(std::chrono::milliseconds(100), std::chrono::milliseconds(5000), seed);
  Backoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(5000), seed);
  for (uint32_t failures = 1; failures <= 10; ++failures)
    EXPECT_EQ(a.Delay(failures), b.Delay(failures));
}

}  // namespace
}  // namespace amtsweg::connectors::webhook
