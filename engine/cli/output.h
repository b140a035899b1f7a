// Output for people: aligned tables and a readable case summary.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "engine/runtime/case_state.h"

namespace amtsweg::cli {

// A table printed with columns aligned to their widest cell (UTF-8 aware).
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t rows() const { return rows_.size(); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Display width of a UTF-8 string (code points; German text has no wide characters).
size_t DisplayWidth(std::string_view s);

void PrintCase(const runtime::CaseState& s, std::ostream& out);

}  // namespace amtsweg::cli
