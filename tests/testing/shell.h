// Running a shell command from a test: its exit code and its output (standard output and standard
// error together), and quoting for the shell. Header-only.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace amtsweg::testing {

struct ShellResult {
  int code = -1;  // exit code; -1 when the command did not exit normally or did not start
  std::string output;
};

inline ShellResult Shell(const std::string& command) {
  ShellResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) {
    r.output = "popen failed";
    return r;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
    r.output.append(buf, n);
  int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// `text` as one word for the shell, in single quotes.
inline std::string ShellQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace amtsweg::testing
