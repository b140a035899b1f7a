// A temporary directory for a test: created fresh (mkdtemp), removed with everything in it when
// the object goes (unless Keep()). Header-only; not thread-safe (one test owns it).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace amtsweg::testing {

class TempDir {
 public:
  // Creates <temp dir>/<prefix>-XXXXXX (the system's temporary directory: TMPDIR or /tmp). A
  // failure throws, which fails the test that asked for it (gtest reports the exception).
  explicit TempDir(std::string_view prefix = "amtsweg") {
    std::string tmpl = (std::filesystem::temp_directory_path() / prefix).string() + "-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      throw std::runtime_error("mkdtemp " + tmpl + ": " +
                               std::error_code(errno, std::generic_category()).message());
    }
    path_ = std::move(tmpl);
  }
  ~TempDir() {
    if (keep_) return;
    std::error_code ec;  // a destructor does not throw; a leftover directory is harmless
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The directory, without a trailing slash.
  const std::string& path() const { return path_; }
  // Leaves the directory in place when the object goes (to look at it after a failure).
  void Keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

}  // namespace amtsweg::testing
