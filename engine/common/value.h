// Value: an immutable JSON value with cheap copies.
//
// Strings, arrays and objects live in shared, immutable nodes, so copying a Value (into a case
// state, a domain event, a projection) costs a reference count, not a deep copy. Objects keep
// their members in insertion order; lookup is linear, which is the fastest choice for the small
// objects of events. Integers that fit int64 stay integers (exact round trip); other numbers are
// doubles.
//
// Parsing uses simdjson; writing and the binary encoding are ours (see docs/architecture.md for
// the measurement behind that choice). Thread-safety: a Value is immutable and may be shared
// between threads freely.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/common/status.h"

namespace amtsweg {

class Value;
using Member = std::pair<std::string, Value>;

class Value {
 public:
  enum class Kind : uint8_t { kNull, kBool, kInt, kDouble, kString, kArray, kObject };

  Value() = default;
  Value(std::nullptr_t) {}  // NOLINT
  Value(bool b) : kind_(Kind::kBool) { scalar_.b = b; }  // NOLINT
  Value(int i) : Value(static_cast<int64_t>(i)) {}      // NOLINT
  Value(int64_t i) : kind_(Kind::kInt) { scalar_.i = i; }  // NOLINT
  Value(uint64_t) = delete;
  Value(double d) : kind_(Kind::kDouble) { scalar_.d = d; }  // NOLINT
  Value(std::string s);                                     // NOLINT
  Value(std::string_view s) : Value(std::string(s)) {}     // NOLINT
  Value(const char* s) : Value(std::string(s)) {}          // NOLINT

  static Value Array(std::vector<Value> items);
  static Value Object(std::vector<Member> members);

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kDouble; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_array() const { return kind_ == Kind::kArray; }
  bool is_object() const { return kind_ == Kind::kObject; }

  // Accessors return a neutral value (false, 0, "", empty) when the kind does not match.
  bool as_bool() const { return kind_ == Kind::kBool && scalar_.b; }
  int64_t as_int() const;
  double as_double() const;
  const std::string& as_string() const;
  const std::vector<Value>& items() const;
  const std::vector<Member>& members() const;
  size_t size() const;  // items or members; 0 for scalars

  // Object member by key, or nullptr (also when this is not an object).
  const Value* Find(std::string_view key) const;
  // Follows a dotted path ("business.address.ags") through objects; nullptr when absent.
  const Value* FindPath(std::string_view dotted) const;
  // Object member or a shared null value.
  const Value& operator[](std::string_view key) const;

  // Deep structural equality; 1 == 1.0 is true.
  friend bool operator==(const Value& a, const Value& b);

  // Compact JSON.
  std::string ToJson() const;
  void AppendJson(std::string* out) const;

  // Parses one JSON document. Errors name the byte offset.
  static Result<Value> ParseJson(std::string_view json);

  // Compact, deterministic binary encoding (used for storage and hashing).
  void AppendBinary(std::string* out) const;
  // Decodes one value from the front of `*in` and advances it.
  static Result<Value> DecodeBinary(std::string_view* in);

 private:
  struct Node;
  Kind kind_ = Kind::kNull;
  union {
    bool b;
    int64_t i;
    double d;
  } scalar_{};
  std::shared_ptr<const Node> node_;
};

// Builds an object member by member; cheaper to read than nested initializer lists.
class ObjectBuilder {
 public:
  ObjectBuilder& Add(std::string key, Value value) {
    members_.emplace_back(std::move(key), std::move(value));
    return *this;
  }
  Value Build() { return Value::Object(std::move(members_)); }

 private:
  std::vector<Member> members_;
};

// Appends `s` to `out` as a quoted JSON string.
void AppendJsonString(std::string_view s, std::string* out);

// Little helpers for the binary encodings shared by the codecs.
void PutVarint(uint64_t v, std::string* out);
bool GetVarint(std::string_view* in, uint64_t* v);
void PutLengthPrefixed(std::string_view s, std::string* out);
bool GetLengthPrefixed(std::string_view* in, std::string_view* s);

}  // namespace amtsweg
