// Value: an immutable JSON value with cheap copies.
//
// Strings, arrays and objects live in shared, immutable, reference-counted nodes (one heap
// allocation each), so copying a Value (into a case state, a domain event, a projection) costs an
// atomic increment, not a deep copy. A Value itself is 16 bytes. Objects keep
// their members in insertion order; lookup is linear, which is the fastest choice for the small
// objects of events. Integers that fit int64 stay integers (exact round trip); other numbers are
// doubles.
//
// Parsing uses simdjson; writing and the binary encoding are ours (see docs/architecture.md for
// the measurement behind that choice). Thread-safety: a Value is immutable and may be shared
// between threads freely.
#pragma once

#include <atomic>
#include <cstdint>
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
  Value(std::nullptr_t) {}                            // NOLINT
  Value(bool b) : kind_(Kind::kBool) { u_.b = b; }    // NOLINT
  Value(int i) : Value(static_cast<int64_t>(i)) {}    // NOLINT
  Value(int64_t i) : kind_(Kind::kInt) { u_.i = i; }  // NOLINT
  Value(uint64_t) = delete;
  Value(double d) : kind_(Kind::kDouble) { u_.d = d; }  // NOLINT
  Value(std::string s);                                 // NOLINT
  Value(std::string_view s);                            // NOLINT
  Value(const char* s) : Value(std::string_view(s)) {}  // NOLINT

  Value(const Value& other) : kind_(other.kind_), u_(other.u_) {
    if (has_node()) u_.node->refs.fetch_add(1, std::memory_order_relaxed);
  }
  Value(Value&& other) noexcept : kind_(other.kind_), u_(other.u_) { other.kind_ = Kind::kNull; }
  Value& operator=(const Value& other) {
    Value copy(other);
    Swap(copy);
    return *this;
  }
  Value& operator=(Value&& other) noexcept {
    Value moved(std::move(other));
    Swap(moved);
    return *this;
  }
  ~Value() {
    if (has_node()) Release();
  }

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
  bool as_bool() const { return kind_ == Kind::kBool && u_.b; }
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
  struct Node {
    std::atomic<uint32_t> refs{1};
  };
  struct StringNode;
  struct ArrayNode;
  struct ObjectNode;

  bool has_node() const { return kind_ >= Kind::kString; }
  void Swap(Value& other) noexcept {
    std::swap(kind_, other.kind_);
    std::swap(u_, other.u_);
  }
  void Release();  // drops this Value's reference; frees the node with the last one
  const StringNode& str_node() const;
  const ArrayNode& array_node() const;
  const ObjectNode& object_node() const;

  Kind kind_ = Kind::kNull;
  union Payload {
    bool b;
    int64_t i;
    double d;
    Node* node;  // kString, kArray, kObject: never null
  } u_{};
};

// Builds an object member by member; cheaper to read than nested initializer lists.
class ObjectBuilder {
 public:
  // Room for `expected_members` members without reallocating (most objects are small).
  explicit ObjectBuilder(size_t expected_members = 8) { members_.reserve(expected_members); }
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

// Building blocks of the binary encoding, for codecs that write a known shape directly instead
// of building a Value first. The bytes are exactly those of the equivalent Value's AppendBinary:
// an object is PutObjectHeader(n) followed by n pairs of PutKey and one value.
namespace binary {
void PutNull(std::string* out);
void PutBool(bool b, std::string* out);
void PutInt(int64_t i, std::string* out);
void PutString(std::string_view s, std::string* out);
void PutArrayHeader(size_t items, std::string* out);
void PutObjectHeader(size_t members, std::string* out);
inline void PutKey(std::string_view key, std::string* out) {
  PutLengthPrefixed(key, out);
}

// Readers of the same blocks, for codecs that decode a known shape directly. Each consumes what
// it reads from the front of `*in` and returns false (leaving `*in` unspecified) when the next
// bytes are not what it reads: another tag, or truncated.
bool GetBool(std::string_view* in, bool* b);
bool GetInt(std::string_view* in, int64_t* i);
// `*s` points into the input.
bool GetString(std::string_view* in, std::string_view* s);
bool GetArrayHeader(std::string_view* in, size_t* items);
bool GetObjectHeader(std::string_view* in, size_t* members);
inline bool GetKey(std::string_view* in, std::string_view* key) {
  return GetLengthPrefixed(in, key);
}
}  // namespace binary

}  // namespace amtsweg
