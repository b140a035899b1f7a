// Helpers shared by the benchmark programs: timing, medians, loading the shipped workflows and
// an event file. Benchmarks print their figures; they are not tests and assert nothing.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dsl/directory.h"
#include "engine/dsl/loader.h"

namespace amtsweg::bench {

inline double Seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

[[noreturn]] inline void Die(const std::string& what) {
  std::fprintf(stderr, "bench: %s\n", what.c_str());
  std::exit(2);
}

// Value of `--name` in argv, or `fallback`.
inline std::string Flag(int argc, char** argv, std::string_view name, std::string fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

inline std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) Die("cannot read " + path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(std::move(line));
  }
  return lines;
}

// The shipped workflows and directory (paths default to the source tree).
struct Workflows {
  std::unique_ptr<dsl::Directory> directory;
  dsl::Registry registry;
};

inline Workflows LoadWorkflows(int argc, char** argv) {
  std::string root = AMTSWEG_SOURCE_DIR;
  std::string dir_path =
      Flag(argc, argv, "--directory", root + "/workflows/directory/schleswig-holstein.yaml");
  std::string wf_path = Flag(argc, argv, "--workflows", root + "/workflows");
  Workflows w;
  auto dir = dsl::Directory::Load(dir_path);
  if (!dir.ok()) Die(dir.status().ToString());
  w.directory = std::move(*dir);
  dsl::RegistryLoadResult loaded = dsl::LoadRegistry(wf_path, w.directory.get());
  if (!loaded.errors.empty()) Die("workflow errors in " + wf_path);
  w.registry = std::move(loaded.registry);
  return w;
}

// One result line, machine-readable for scripts/bench:
// RESULT <name> <value> <unit> [ceiling=<value>]
inline void Report(const char* name, double value, const char* unit, double ceiling = 0) {
  if (ceiling > 0) {
    std::printf("RESULT %s %.0f %s ceiling=%.0f ratio=%.3f\n", name, value, unit, ceiling,
                value / ceiling);
  } else {
    std::printf("RESULT %s %.0f %s\n", name, value, unit);
  }
  std::fflush(stdout);
}

}  // namespace amtsweg::bench
