#include "engine/dsl/yaml_util.h"

#include <simdjson.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

#include "engine/dsl/yaml_scalar.h"

namespace amtsweg::dsl::internal {

SourcePos PosOf(const YAML::Mark& m) {
  return {m.line + 1, m.column + 1};
}

void Errors::Add(SourcePos pos, std::string message) {
  out_->push_back(Diagnostic{file_, pos.line, pos.column, std::move(message)});
}

namespace {

// Counts a document's nodes as if every alias were a copy of its anchor's node, from parser events
// (the node tree shares an anchored node between its aliases, so it is small; walking it is not).
// Stops counting at the first alias that passes the limit and at a second document. Also refuses
// a scalar (key or value) that is not valid UTF-8 once read: every string of a definition or the
// directory ends up in JSON (events, API answers, diagnostics), which must be UTF-8.
class NodeCounter final : public YAML::EventHandler {
 public:
  explicit NodeCounter(uint64_t max_nodes) : max_(max_nodes) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2 && !failed()) {
      at_ = mark;
      problem_ = "a second YAML document ('---'): a file holds exactly one";
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { Leaf(mark, anchor); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = sizes_.find(anchor);
    Add(mark, it == sizes_.end() ? 1 : it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    if (!failed() && !simdjson::validate_utf8(value)) {
      at_ = mark;
      // Valid UTF-8 text can still read as invalid: yaml-cpp (0.7) decodes the escapes \N and \_
      // of double-quoted strings to the single bytes 0x85 and 0xA0.
      problem_ =
          "a string that is not valid UTF-8 once read (the file is not UTF-8, or it uses the "
          "escape \\N or \\_, which yaml-cpp reads as a single byte: write \\u0085 or \\u00a0 "
          "instead)";
    }
    Leaf(mark, anchor);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(mark, anchor);
  }
  void OnMapEnd() override { Close(); }

  bool failed() const { return !problem_.empty(); }
  const std::string& problem() const { return problem_; }
  const YAML::Mark& at() const { return at_; }
  uint64_t documents() const { return documents_; }

 private:
  struct Frame {
    YAML::anchor_t anchor;
    uint64_t nodes;  // the collection itself and everything in it, aliases expanded
  };
  // Adds `n` nodes to the collection being read (and so to every one around it, when it closes).
  void Add(const YAML::Mark& mark, uint64_t n) {
    uint64_t& into = open_.empty() ? total_ : open_.back().nodes;
    into = std::min(into + n, max_ + 1);  // saturates: never overflows
    counted_ = std::min(counted_ + n, max_ + 1);
    if (counted_ > max_ && !failed()) {
      at_ = mark;
      problem_ = "the document expands to more than " + std::to_string(max_) +
                 " nodes (counting every alias as a copy of its anchor); refused, to bound the "
                 "time and memory its reading takes";
    }
  }
  void Leaf(const YAML::Mark& mark, YAML::anchor_t anchor) {
    if (anchor != YAML::NullAnchor) sizes_[anchor] = 1;
    Add(mark, 1);
  }
  void Open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    open_.push_back(Frame{anchor, 0});
    Add(mark, 1);
  }
  void Close() {
    if (open_.empty()) return;
    Frame f = open_.back();
    open_.pop_back();
    if (f.anchor != YAML::NullAnchor) sizes_[f.anchor] = f.nodes;
    uint64_t& into = open_.empty() ? total_ : open_.back().nodes;
    into = std::min(into + f.nodes, max_ + 1);
  }

  const uint64_t max_;
  uint64_t total_ = 0;
  uint64_t counted_ = 0;  // every node so far, aliases expanded
  uint64_t documents_ = 0;
  std::vector<Frame> open_;
  std::map<YAML::anchor_t, uint64_t> sizes_;
  std::string problem_;
  YAML::Mark at_;
};

// `text` with each byte that is not part of a valid UTF-8 sequence replaced by U+FFFD.
std::string ValidUtf8(const std::string& text) {
  if (simdjson::validate_utf8(text)) return text;
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    // The shortest valid prefix (1 to 4 bytes) is the character at i: no proper prefix of a
    // multi-byte sequence is valid.
    size_t n = 1;
    while (n <= 4 && i + n <= text.size() && !simdjson::validate_utf8(text.data() + i, n))
      ++n;
    if (n <= 4 && i + n <= text.size()) {
      out.append(text, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace

std::optional<YAML::Node> LoadDocument(std::string_view text, uint64_t max_nodes, Errors* errors) {
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    NodeCounter counter(max_nodes);
    while (!counter.failed() && parser.HandleNextDocument(counter)) {
    }
    if (counter.failed()) {
      errors->Add(counter.at(), counter.problem());
      return std::nullopt;
    }
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    // yaml-cpp's message can quote a single byte of a multi-byte character (an unknown escape).
    errors->Add(e.mark, "YAML syntax error: " + ValidUtf8(e.msg));
    return std::nullopt;
  }
}

std::string Join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (std::string_view s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

MapReader::MapReader(const YAML::Node& node, std::string what,
                     std::initializer_list<std::string_view> allowed, const YAML::Mark& where,
                     Errors* errors)
    : what_(std::move(what)), mark_(where) {
  if (!node.IsMap()) {
    errors->Add(node.IsNull() || !node.IsDefined() ? where : node.Mark(),
                what_ + " must be a mapping");
    return;
  }
  ok_ = true;
  mark_ = node.Mark();
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator yields a temporary pair of node handles.
    YAML::Node k = it->first;
    YAML::Node v = it->second;
    if (!k.IsScalar()) {
      errors->Add(k.Mark(), "keys of " + what_ + " must be plain names");
      continue;
    }
    std::string key = k.Scalar();
    if (const Entry* prev = Find(key)) {
      errors->Add(k.Mark(), "duplicate key '" + key + "' in " + what_ + " (first at line " +
                                std::to_string(prev->key_node.Mark().line + 1) + ")");
      continue;
    }
    if (allowed.size() != 0) {
      bool known = false;
      for (std::string_view a : allowed)
        known = known || a == key;
      if (!known) {
        errors->Add(k.Mark(),
                    "unknown key '" + key + "' in " + what_ + "; allowed: " + Join(allowed));
        continue;
      }
    }
    entries_.push_back(Entry{std::move(key), k, v});
  }
}

const MapReader::Entry* MapReader::Find(std::string_view key) const {
  for (const Entry& e : entries_) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

YAML::Node MapReader::Get(std::string_view key) const {
  const Entry* e = Find(key);
  return e != nullptr ? e->value : YAML::Node(YAML::NodeType::Undefined);
}

YAML::Mark MapReader::KeyMark(std::string_view key) const {
  const Entry* e = Find(key);
  return e != nullptr ? e->key_node.Mark() : mark_;
}

YAML::Mark MapReader::ValueMark(std::string_view key) const {
  const Entry* e = Find(key);
  if (e == nullptr) return mark_;
  return MarkOr(e->value, e->key_node.Mark());
}

YAML::Mark MarkOr(const YAML::Node& node, const YAML::Mark& fallback) {
  if (!node.IsDefined() || node.IsNull()) return fallback;
  return node.Mark();
}

bool ReadString(const YAML::Node& node, const YAML::Mark& where, std::string_view key,
                Errors* errors, std::string* out) {
  if (!node.IsScalar()) {
    errors->Add(MarkOr(node, where), "'" + std::string(key) + "' must be a string");
    return false;
  }
  if (ScalarType t = ScalarTypeOf(node); t != ScalarType::kString) {
    // As the schema and YAML tools read it (YAML 1.2 core schema): not a string.
    errors->Add(MarkOr(node, where), "'" + std::string(key) + "' must be a string, not " +
                                         std::string(ScalarTypeName(t)) + ": quote it (\"" +
                                         node.Scalar() + "\")");
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool ReadText(const YAML::Node& node, const YAML::Mark& where, std::string_view key, Errors* errors,
              std::string* out) {
  if (!node.IsScalar()) {
    errors->Add(MarkOr(node, where), "'" + std::string(key) + "' must be a string");
    return false;
  }
  *out = node.Scalar();
  return true;
}

bool ReadInt(const YAML::Node& node, const YAML::Mark& where, std::string_view key, Errors* errors,
             long long* out) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    ScalarType t = ScalarTypeOf(node);
    if (t == ScalarType::kInt) {
      // 0o17 and 0x1F are integers of the core schema too.
      int base = 10;
      size_t skip = 0;
      if (s.size() > 2 && s[0] == '0' && (s[1] == 'o' || s[1] == 'x')) {
        base = s[1] == 'o' ? 8 : 16;
        skip = 2;
      }
      size_t sign = s[skip] == '+' ? 1 : 0;  // from_chars takes '-' but not '+'
      auto r = std::from_chars(s.data() + skip + sign, s.data() + s.size(), *out, base);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size()) return true;
    } else if (t == ScalarType::kFloat) {
      // A number with no fraction is an integer (1.0, 1e3), as in JSON Schema.
      double d = 0;
      auto r = std::from_chars(s.data() + (s[0] == '+' ? 1 : 0), s.data() + s.size(), d);
      if (r.ec == std::errc() && r.ptr == s.data() + s.size() && std::isfinite(d) &&
          d == std::trunc(d) && std::fabs(d) < 9e15) {
        *out = static_cast<long long>(d);
        return true;
      }
    } else if (t == ScalarType::kString && !s.empty() && PlainScalarType(s) == ScalarType::kInt) {
      errors->Add(MarkOr(node, where), "'" + std::string(key) +
                                           "' must be an integer, not a quoted string: write " + s +
                                           " without quotes");
      return false;
    }
  }
  errors->Add(MarkOr(node, where), "'" + std::string(key) + "' must be an integer");
  return false;
}

bool ReadStringList(const YAML::Node& node, const YAML::Mark& where, std::string_view key,
                    Errors* errors, std::vector<std::string>* out, std::vector<YAML::Mark>* marks,
                    bool text) {
  if (!node.IsSequence()) {
    errors->Add(MarkOr(node, where), "'" + std::string(key) + "' must be a list");
    return false;
  }
  bool ok = true;
  for (const YAML::Node& item : node) {
    if (!item.IsScalar() || (!text && ScalarTypeOf(item) != ScalarType::kString)) {
      std::string msg = "items of '" + std::string(key) + "' must be strings";
      if (item.IsScalar()) msg += ": quote " + item.Scalar() + " (\"" + item.Scalar() + "\")";
      errors->Add(MarkOr(item, node.Mark()), msg);
      ok = false;
      continue;
    }
    out->push_back(item.Scalar());
    if (marks != nullptr) marks->push_back(item.Mark());
  }
  return ok;
}

}  // namespace amtsweg::dsl::internal
