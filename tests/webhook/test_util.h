// Helpers of the webhook tests: the sample directory with webhooks.
#pragma once

#include <regex>
#include <sstream>
#include <string>

#include "tests/testing/files.h"

namespace amtsweg::testing {

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
