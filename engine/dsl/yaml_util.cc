#include "engine/dsl/yaml_util.h"

#include <charconv>

namespace amtsweg::dsl::internal {

SourcePos PosOf(const YAML::Mark& m) {
  return {m.line + 1, m.column + 1};
}

void Errors::Add(SourcePos pos, std::string message) {
  out_->push_back(Diagnostic{file_, pos.line, pos.column, std::move(message)});
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
  *out = node.Scalar();
  return true;
}

bool ReadInt(const YAML::Node& node, const YAML::Mark& where, std::string_view key, Errors* errors,
             long long* out) {
  if (node.IsScalar()) {
    const std::string& s = node.Scalar();
    auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
    if (r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty()) return true;
  }
  errors->Add(MarkOr(node, where), "'" + std::string(key) + "' must be an integer");
  return false;
}

bool ReadStringList(const YAML::Node& node, const YAML::Mark& where, std::string_view key,
                    Errors* errors, std::vector<std::string>* out, std::vector<YAML::Mark>* marks) {
  if (!node.IsSequence()) {
    errors->Add(MarkOr(node, where), "'" + std::string(key) + "' must be a list");
    return false;
  }
  bool ok = true;
  for (const YAML::Node& item : node) {
    if (!item.IsScalar()) {
      errors->Add(MarkOr(item, node.Mark()), "items of '" + std::string(key) + "' must be strings");
      ok = false;
      continue;
    }
    out->push_back(item.Scalar());
    if (marks != nullptr) marks->push_back(item.Mark());
  }
  return ok;
}

}  // namespace amtsweg::dsl::internal
