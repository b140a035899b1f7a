// Seeds of the tests' randomness. Every test that uses randomness takes its seed from here,
// prints it, and repeats a run when given it:
//
//   [   SEED   ] 1234 (AMTSWEG_TEST_SEED=1234 repeats it)
//
// Header-only.
#pragma once

#include <gtest/gtest.h>

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

namespace amtsweg::testing {

// AMTSWEG_TEST_SEED when it is set, else nullopt. A value that is not a decimal number throws
// (which fails the test) rather than quietly running with another seed.
inline std::optional<uint64_t> SeedFromEnvironment() {
  const char* env = std::getenv("AMTSWEG_TEST_SEED");
  if (env == nullptr) return std::nullopt;
  std::string_view text(env);
  uint64_t seed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seed);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    throw std::invalid_argument("AMTSWEG_TEST_SEED='" + std::string(text) +
                                "' is not a decimal number");
  }
  return seed;
}

// Prints the seed line above and records the seed as the test's property `seed` (in the XML and
// JSON reports).
inline void PrintSeed(uint64_t seed) {
  std::cout << "[   SEED   ] " << seed << " (AMTSWEG_TEST_SEED=" << seed << " repeats it)"
            << std::endl;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
}

// The seed of a test's randomness: AMTSWEG_TEST_SEED when set, else a fresh one; printed.
inline uint64_t TestSeed() {
  std::optional<uint64_t> fixed = SeedFromEnvironment();
  const uint64_t seed = fixed.has_value() ? *fixed : std::random_device{}();
  PrintSeed(seed);
  return seed;
}

}  // namespace amtsweg::testing
