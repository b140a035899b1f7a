// Helpers of the webhook tests: seeds, files, the sample directory with webhooks.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <regex>
#include <sstream>
#include <string>

namespace amtsweg::testing {

// The seed of a test's randomness: AMTSWEG_TEST_SEED when set, else a fresh one; printed so
// that a failure can be reproduced.
inline uint64_t TestSeed(const std::string& what) {
  const char* env = std::getenv("AMTSWEG_TEST_SEED");
  uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device{}();
  std::cout << what << " seed " << seed << " (AMTSWEG_TEST_SEED=" << seed << " reproduces it)\n";
  return seed;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The sample directory with a webhook for every organisation, 127.0.0.1:port/hook/<id>, whose
// secret is in the environment variable `secret_env`.
inline std::string DirectoryWithWebhooks(int port, const std::string& secret_env) {
  std::string text = ReadFile(AMTSWEG_SOURCE_DIR "/workflows/directory/schleswig-holstein.yaml");
  std::regex id_line(R"(^  - id: ([a-z0-9-]+)$)");
  std::stringstream in(text);
  std::string out, line;
  while (std::getline(in, line)) {
    out += line + "\n";
    std::smatch m;
    if (std::regex_match(line, m, id_line)) {
      out += "    webhook: http://127.0.0.1:" + std::to_string(port) + "/hook/" + m[1].str() +
             "\n    webhook_secret_env: " + secret_env + "\n";
    }
  }
  return out;
}

}  // namespace amtsweg::testing
