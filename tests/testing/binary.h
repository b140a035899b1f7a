// Running the amtsweg binary from end-to-end tests: its exit code, standard output and standard
// error, and JSON-lines output parsed. Header-only; each test binary defines AMTSWEG_BINARY.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "engine/common/value.h"

namespace amtsweg::testing {

struct Output {
  int code = -1;  // exit code; -1 when the process did not exit normally
  std::string out;
  std::string err;
};

// Runs `AMTSWEG_BINARY args` through the shell, with `env` (e.g. "TZDIR=/nowhere") before it.
inline Output RunAmtsweg(const std::string& args, const std::string& env = "") {
  static int counter = 0;
  std::string err_file = std::filesystem::temp_directory_path().string() + "/amtsweg-stderr-" +
                         std::to_string(getpid()) + "-" + std::to_string(counter++);
  std::string cmd = env + " " + AMTSWEG_BINARY + " " + args + " 2>" + err_file;
  Output o;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
    o.out.append(buf, n);
  int status = pclose(p);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_file);
  o.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::filesystem::remove(err_file);
  return o;
}

// Every non-empty line of `text` parsed as JSON (a line that does not parse fails the test).
inline std::vector<Value> JsonLines(const std::string& text) {
  std::vector<Value> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    Result<Value> v = Value::ParseJson(line);
    EXPECT_TRUE(v.ok()) << line;
    if (v.ok()) out.push_back(*v);
  }
  return out;
}

}  // namespace amtsweg::testing
