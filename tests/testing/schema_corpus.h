// The corpus of tests/schema-corpus: documents that the JSON Schemas in docs/ and the loaders
// must judge alike (tests/dsl/workflow_schema.py checks the schema side). Header-only.
//
// tests/schema-corpus/<kind>/<verdict>/*.yaml, verdict accepted (both accept), refused (both
// refuse) or loader-only (the schema accepts what only the loader can see is wrong). A line
// "# loader: TEXT" says what the loader's message contains.
#pragma once

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/testing/files.h"

namespace amtsweg::testing {

struct CorpusDocument {
  std::string path;  // relative to the repository, for messages
  std::string text;
  std::string verdict;  // accepted, refused, loader-only
  std::string expect;   // the "# loader:" text, or empty
};

inline std::vector<CorpusDocument> SchemaCorpus(const std::string& repo, const std::string& kind) {
  std::vector<CorpusDocument> out;
  for (const char* verdict : {"accepted", "refused", "loader-only"}) {
    std::string dir = repo + "/tests/schema-corpus/" + kind + "/" + verdict;
    if (!std::filesystem::is_directory(dir)) continue;
    std::vector<std::string> paths;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
      if (entry.path().extension() == ".yaml") paths.push_back(entry.path().string());
    std::sort(paths.begin(), paths.end());
    for (const std::string& path : paths) {
      CorpusDocument d;
      d.path = path.substr(repo.size() + 1);
      d.text = ReadFile(path);
      d.verdict = verdict;
      size_t at = d.text.find("\n# loader: ");
      if (at != std::string::npos) {
        size_t begin = at + 11;
        d.expect = d.text.substr(begin, d.text.find('\n', begin) - begin);
      }
      out.push_back(std::move(d));
    }
  }
  return out;
}

}  // namespace amtsweg::testing
