// LoadMigration: a migration mapping's YAML made into its JSON form, with where each member was
// written, then read by MigrationFromValue (migration.cc).
#include <charconv>
#include <fstream>
#include <sstream>

#include "engine/dsl/loader.h"
#include "engine/dsl/yaml_util.h"

namespace amtsweg::dsl {

namespace {

// A mapping is small: a few hundred nodes at most.
constexpr uint64_t kMaxMigrationNodes = 100000;

class Converter {
 public:
  Converter(const std::string& file, MigrationPositions* positions,
            std::vector<MigrationError>* errors)
      : file_(file), positions_(positions), errors_(errors) {}

  Value Convert(const YAML::Node& node, const std::string& path) {
    switch (node.Type()) {
      case YAML::NodeType::Map: {
        std::vector<Member> members;
        for (const auto& kv : node) {
          const YAML::Node& key = kv.first;
          if (!key.IsScalar()) {
            Error(key.Mark(), "a key must be a name");
            continue;
          }
          const std::string name = key.Scalar();
          std::string child = path;
          if (!child.empty()) child += '.';
          child += name;
          if (positions_->count(child) != 0) {
            Error(key.Mark(), "duplicate key '" + name + "'");
            continue;
          }
          (*positions_)[child] = internal::PosOf(key.Mark());
          members.emplace_back(name, Convert(kv.second, child));
        }
        return Value::Object(std::move(members));
      }
      case YAML::NodeType::Sequence: {
        std::vector<Value> items;
        for (const auto& item : node)
          items.push_back(Convert(item, path));
        return Value::Array(std::move(items));
      }
      case YAML::NodeType::Scalar: {
        const std::string& text = node.Scalar();
        if (!internal::IsQuoted(node)) {
          int64_t n = 0;
          auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
          if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
            return Value(n);
          }
        }
        return Value(text);
      }
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return Value();
    }
    return Value();
  }

 private:
  void Error(const YAML::Mark& m, std::string message) {
    errors_->push_back({file_, internal::PosOf(m), std::move(message)});
  }

  const std::string& file_;
  MigrationPositions* positions_;
  std::vector<MigrationError>* errors_;
};

}  // namespace

MigrationParse LoadMigration(std::string_view yaml, const std::string& file) {
  MigrationParse out;
  std::vector<Diagnostic> diagnostics;
  internal::Errors errors(file, &diagnostics);
  std::optional<YAML::Node> doc = internal::LoadDocument(yaml, kMaxMigrationNodes, &errors);
  for (const Diagnostic& d : diagnostics)
    out.errors.push_back({d.file, {d.line, d.column}, d.message});
  if (!doc.has_value()) return out;
  MigrationPositions positions;
  positions[""] = doc->IsNull() ? SourcePos{1, 1} : internal::PosOf(doc->Mark());
  Converter converter(file, &positions, &out.errors);
  Value v = converter.Convert(*doc, "");
  if (!out.errors.empty()) return out;
  return MigrationFromValue(v, file, &positions);
}

MigrationParse LoadMigrationFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    MigrationParse out;
    out.errors.push_back({path, {}, "cannot open file"});
    return out;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return LoadMigration(ss.str(), path);
}

}  // namespace amtsweg::dsl
