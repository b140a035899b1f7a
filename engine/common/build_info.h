// What this binary was built from: the project's version and the source's commit, for the
// metric amtsweg_build_info (docs/monitoring.md). The definitions are generated at every build
// (cmake/build_info.cmake) into a library of their own, amtsweg::build_info, rewritten only when
// the commit changes: a new commit recompiles one file. Thread-safe (constants).
#pragma once

#include <string_view>

namespace amtsweg {

// The project's version from CMake, e.g. "0.1.0".
std::string_view BuildVersion();
// The commit the binary was built from: 12 hex digits of `git rev-parse`, with "-dirty" when
// tracked files differed from it; "unknown" when the source was not a git checkout.
std::string_view BuildCommit();

}  // namespace amtsweg
