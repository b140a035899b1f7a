// Reading files in tests. Header-only.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

namespace amtsweg::testing {

// The whole file, byte for byte; empty when it cannot be read.
inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The regular files under `dir` (recursively) whose raw bytes contain `needle`, in directory
// order: where a value that should be gone can still be read.
inline std::vector<std::string> FilesContaining(const std::string& dir, std::string_view needle) {
  std::vector<std::string> found;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (f.is_regular_file() && ReadFile(f.path().string()).find(needle) != std::string::npos)
      found.push_back(f.path().string());
  }
  return found;
}

}  // namespace amtsweg::testing
