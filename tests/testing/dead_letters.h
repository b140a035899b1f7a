// The dead letters of a store, as "<source> <kind>" in their order, for tests that check where
// refusals came from and why. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine/store/store.h"

namespace amtsweg::testing {

inline std::vector<std::string> DeadLetterSourcesAndKinds(const store::Store& st) {
  std::vector<std::string> out;
  EXPECT_TRUE(st.ScanDeadLetters([&](const store::DeadLetter& d) {
                  out.push_back(d.source + " " + d.kind);
                  return true;
                }).ok());
  return out;
}

}  // namespace amtsweg::testing
