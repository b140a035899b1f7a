#include "engine/crypto/data_key.h"

#include <gtest/gtest.h>

#include <string>

namespace amtsweg::crypto {
namespace {

TEST(DataKeyTest, GenerateMakesDistinctKeysOf32Bytes) {
  DataKey a = DataKey::Generate();
  DataKey b = DataKey::Generate();
  EXPECT_EQ(a.bytes().size(), 32u);
  EXPECT_FALSE(a == b);
  DataKey copy = a;
  EXPECT_TRUE(copy == a);
  copy = b;
  EXPECT_TRUE(copy == b);
}

TEST(DataKeyTest, FromBytesNeedsExactly32Bytes) {
  EXPECT_TRUE(DataKey::FromBytes(std::string(32, 'x')).ok());
  Result<DataKey> short_key = DataKey::FromBytes(std::string(31, 'x'));
  ASSERT_FALSE(short_key.ok());
  EXPECT_TRUE(short_key.status().IsInvalidArgument());
  EXPECT_NE(short_key.status().message().find("31"), std::string::npos);
  EXPECT_FALSE(DataKey::FromBytes(std::string(33, 'x')).ok());
  DataKey k = DataKey::Generate();
  Result<DataKey> again = DataKey::FromBytes(k.bytes());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again == k);
}

TEST(SealTest, RoundTripsAndAppends) {
  DataKey key = DataKey::Generate();
  for (const std::string& plain :
       {std::string(), std::string("Max Mustermann, Kiel"), std::string(100000, 'p')}) {
    std::string out = "prefix";
    Seal(key, "case-1/event-7", plain, &out);
    ASSERT_EQ(out.size(), 6 + plain.size() + kSealOverhead);
    EXPECT_EQ(out.substr(0, 6), "prefix");
    const std::string sealed = out.substr(6);
    if (!plain.empty()) {
      EXPECT_EQ(sealed.find(plain), std::string::npos);
    }
    Result<std::string> opened = Open(key, "case-1/event-7", sealed);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, plain);
  }
}

TEST(SealTest, EachSealHasAFreshNonce) {
  DataKey key = DataKey::Generate();
  std::string a, b;
  Seal(key, "", "same", &a);
  Seal(key, "", "same", &b);
  EXPECT_NE(a.substr(0, kNonceBytes), b.substr(0, kNonceBytes));
  EXPECT_NE(a, b);
}

TEST(SealTest, EveryChangedByteIsDetected) {
  DataKey key = DataKey::Generate();
  std::string sealed;
  Seal(key, "aad", "personal data of a case", &sealed);
  // Nonce, ciphertext and tag: every byte, every region.
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string changed = sealed;
    changed[i] = static_cast<char>(changed[i] ^ 0x01);
    Result<std::string> opened = Open(key, "aad", changed);
    ASSERT_FALSE(opened.ok()) << "byte " << i;
    EXPECT_TRUE(opened.status().IsCorruption()) << "byte " << i;
  }
  EXPECT_FALSE(Open(key, "aad", sealed.substr(0, sealed.size() - 1)).ok());  // tag cut
  EXPECT_FALSE(Open(key, "aad", sealed + "x").ok());                         // appended
}

TEST(SealTest, WrongAadOrWrongKeyDoesNotOpen) {
  DataKey key = DataKey::Generate();
  std::string sealed;
  Seal(key, "case-1", "data", &sealed);
  Result<std::string> wrong_aad = Open(key, "case-2", sealed);
  ASSERT_FALSE(wrong_aad.ok());
  EXPECT_TRUE(wrong_aad.status().IsCorruption());
  EXPECT_FALSE(Open(key, "", sealed).ok());
  Result<std::string> wrong_key = Open(DataKey::Generate(), "case-1", sealed);
  ASSERT_FALSE(wrong_key.ok());
  EXPECT_TRUE(wrong_key.status().IsCorruption());
}

TEST(SealTest, TooShortIsCorruption) {
  DataKey key = DataKey::Generate();
  for (size_t n : {size_t{0}, size_t{1}, kSealOverhead - 1}) {
    Result<std::string> opened = Open(key, "", std::string(n, 'x'));
    ASSERT_FALSE(opened.ok());
    EXPECT_TRUE(opened.status().IsCorruption());
  }
  // Exactly the overhead: an empty plaintext, which must still authenticate.
  EXPECT_FALSE(Open(key, "", std::string(kSealOverhead, 'x')).ok());
}

}  // namespace
}  // namespace amtsweg::crypto
