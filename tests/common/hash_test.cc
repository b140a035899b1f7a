#include "engine/common/hash.h"

#include <gtest/gtest.h>

namespace amtsweg {
namespace {

TEST(HashTest, Sha256KnownVector) {
  EXPECT_EQ(ToHex(Sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("ab", "c"), Sha256("abc"));
}

TEST(HashTest, ChainDependsOnPrevious) {
  Digest a = ChainHash(kGenesisDigest, "event");
  Digest b = ChainHash(a, "event");
  EXPECT_NE(a, b);
  Digest parsed;
  ASSERT_TRUE(FromHex(ToHex(b), &parsed));
  EXPECT_EQ(parsed, b);
  EXPECT_FALSE(FromHex("zz", &parsed));
}

}  // namespace
}  // namespace amtsweg
