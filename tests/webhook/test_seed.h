// The seed of a test's randomness: AMTSWEG_TEST_SEED when set, else a fresh one; printed so
// that a failure can be reproduced.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>

namespace amtsweg::testing {

inline uint64_t TestSeed(const std::string& what) {
  const char* env = std::getenv("AMTSWEG_TEST_SEED");
  uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::cout << what << " seed " << seed << " (AMTSWEG_TEST_SEED=" << seed << " reproduces it)\n";
  return seed;
}

}  // namespace amtsweg::testing
