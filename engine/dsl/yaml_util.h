// Internal to engine/dsl: reading yaml-cpp nodes with positions and collected errors.
// Not part of the module's contract; the runtime never includes this.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/dsl/loader.h"
#include "engine/dsl/workflow.h"

namespace amtsweg::dsl::internal {

// 1-based position of a yaml-cpp mark (which is 0-based).
SourcePos PosOf(const YAML::Mark& m);

// Collects diagnostics for one file.
class Errors {
 public:
  Errors(std::string file, std::vector<Diagnostic>* out) : file_(std::move(file)), out_(out) {}
  void Add(SourcePos pos, std::string message);
  void Add(const YAML::Mark& m, std::string message) { Add(PosOf(m), std::move(message)); }
  const std::string& file() const { return file_; }
  size_t count() const { return out_->size(); }

 private:
  std::string file_;
  std::vector<Diagnostic>* out_;
};

// Reads a YAML mapping: reports unknown and duplicate keys, and remembers where each key is.
class MapReader {
 public:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
  };

  // `what` names the mapping in messages ("state 'x'"); `allowed` empty = any key.
  // `where` is reported when `node` is not a mapping.
  MapReader(const YAML::Node& node, std::string what,
            std::initializer_list<std::string_view> allowed, const YAML::Mark& where,
            Errors* errors);

  bool ok() const { return ok_; }
  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  // The value (an undefined node when the key is absent).
  YAML::Node Get(std::string_view key) const;
  // Where the value is: its own mark, or the key's when the value is empty (yaml-cpp marks an
  // empty value at the next token).
  YAML::Mark ValueMark(std::string_view key) const;
  YAML::Mark KeyMark(std::string_view key) const;
  const std::vector<Entry>& entries() const { return entries_; }
  const std::string& what() const { return what_; }
  const YAML::Mark& mark() const { return mark_; }

 private:
  const Entry* Find(std::string_view key) const;
  std::vector<Entry> entries_;
  std::string what_;
  YAML::Mark mark_;
  bool ok_ = false;
};

// Mark of a value node, falling back to `fallback` for empty (null) values.
YAML::Mark MarkOr(const YAML::Node& node, const YAML::Mark& fallback);

// A string as the schema sees it (yaml_scalar.h): a quoted scalar, or a plain one that is not
// null, a boolean or a number. Reports "'key' must be a string" (etc.) otherwise.
bool ReadString(const YAML::Node& node, const YAML::Mark& where, std::string_view key,
                Errors* errors, std::string* out);
// Any scalar as its text (for values with a check of their own that names the quoting, such as
// leika and AGS keys). Reports "'key' must be a string" for a map, list or null.
bool ReadText(const YAML::Node& node, const YAML::Mark& where, std::string_view key, Errors* errors,
              std::string* out);
// An integer as the schema sees it: a plain integer (decimal, 0o, 0x) or a number without a
// fraction (1.0); a quoted "1" is a string and refused.
bool ReadInt(const YAML::Node& node, const YAML::Mark& where, std::string_view key, Errors* errors,
             long long* out);
// A list of strings (with their marks when `marks` is given); with `text`, of any scalars
// (as ReadText).
bool ReadStringList(const YAML::Node& node, const YAML::Mark& where, std::string_view key,
                    Errors* errors, std::vector<std::string>* out,
                    std::vector<YAML::Mark>* marks = nullptr, bool text = false);

// True if the scalar was written in quotes (or as a block scalar) rather than plain.
inline bool IsQuoted(const YAML::Node& node) {
  return node.Tag() == "!";
}

// Limits of LoadDocument: how many nodes a document may have once every alias is expanded (an
// alias stands for the whole node its anchor names: a few KiB of nested aliases, "billion
// laughs", expand to billions of nodes, which every walk over the tree visits).
inline constexpr uint64_t kMaxWorkflowNodes = 100000;
inline constexpr uint64_t kMaxDirectoryNodes = 1000000;

// Parses `text` as exactly one YAML document whose alias expansion stays within `max_nodes`
// nodes. On failure reports to `errors` (a syntax error; a second document, at its start; the
// alias that passes the limit, at the alias) and returns nullopt. Empty text: a null node.
std::optional<YAML::Node> LoadDocument(std::string_view text, uint64_t max_nodes, Errors* errors);

// Joins "a, b, c".
std::string Join(std::initializer_list<std::string_view> items);

}  // namespace amtsweg::dsl::internal
