#include "engine/common/value.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>

namespace amtsweg {

struct Value::StringNode : Value::Node {
  explicit StringNode(std::string s) : str(std::move(s)) {}
  explicit StringNode(std::string_view s) : str(s) {}
  std::string str;
};
struct Value::ArrayNode : Value::Node {
  explicit ArrayNode(std::vector<Value> v) : items(std::move(v)) {}
  std::vector<Value> items;
};
struct Value::ObjectNode : Value::Node {
  explicit ObjectNode(std::vector<Member> m) : members(std::move(m)) {}
  std::vector<Member> members;
};

namespace {

const std::string kEmptyString;
const std::vector<Value> kEmptyItems;
const std::vector<Member> kEmptyMembers;
const Value kNull;

// Binary tags. Stable: stored data and hash chains depend on them.
enum Tag : uint8_t {
  kTagNull = 0,
  kTagFalse = 1,
  kTagTrue = 2,
  kTagInt = 3,  // zigzag varint
  kTagDouble = 4,
  kTagString = 5,
  kTagArray = 6,
  kTagObject = 7,
};

constexpr int kMaxDepth = 64;

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

Result<Value> FromSimdjson(simdjson::dom::element el, int depth) {
  if (depth > kMaxDepth) return Status::InvalidArgument("JSON nested deeper than 64 levels");
  switch (el.type()) {
    case simdjson::dom::element_type::NULL_VALUE:
      return Value();
    case simdjson::dom::element_type::BOOL:
      return Value(bool(el.get_bool().value_unsafe()));
    case simdjson::dom::element_type::INT64:
      return Value(el.get_int64().value_unsafe());
    case simdjson::dom::element_type::UINT64:
      return Value(static_cast<double>(el.get_uint64().value_unsafe()));
    case simdjson::dom::element_type::DOUBLE:
      return Value(el.get_double().value_unsafe());
    case simdjson::dom::element_type::STRING:
      return Value(el.get_string().value_unsafe());
    case simdjson::dom::element_type::ARRAY: {
      std::vector<Value> items;
      simdjson::dom::array arr = el.get_array().value_unsafe();
      items.reserve(arr.size());
      for (simdjson::dom::element child : arr) {
        ASSIGN_OR_RETURN(Value v, FromSimdjson(child, depth + 1));
        items.push_back(std::move(v));
      }
      return Value::Array(std::move(items));
    }
    case simdjson::dom::element_type::OBJECT: {
      std::vector<Member> members;
      simdjson::dom::object obj = el.get_object().value_unsafe();
      members.reserve(obj.size());
      for (auto field : obj) {
        for (const Member& m : members) {
          if (m.first == field.key) {
            return Status::InvalidArgument("duplicate object key \"" + std::string(field.key) +
                                           "\"");
          }
        }
        ASSIGN_OR_RETURN(Value v, FromSimdjson(field.value, depth + 1));
        members.emplace_back(std::string(field.key), std::move(v));
      }
      return Value::Object(std::move(members));
    }
  }
  return Status::Internal("unknown simdjson element type");
}

void AppendDouble(double d, std::string* out) {
  if (!std::isfinite(d)) {
    out->append("null");
    return;
  }
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  std::string_view s(buf, static_cast<size_t>(res.ptr - buf));
  out->append(s);
  // Keep the number a double on the way back in.
  if (s.find_first_of(".eE") == std::string_view::npos) out->append(".0");
}

}  // namespace

Value::Value(std::string s) : kind_(Kind::kString) {
  u_.node = new StringNode(std::move(s));
}

Value::Value(std::string_view s) : kind_(Kind::kString) {
  u_.node = new StringNode(s);
}

void Value::Release() {
  // The last owner frees the node; acq_rel so that its reads of the node happen before the free.
  if (u_.node->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  switch (kind_) {
    case Kind::kString:
      delete static_cast<StringNode*>(u_.node);
      break;
    case Kind::kArray:
      delete static_cast<ArrayNode*>(u_.node);
      break;
    case Kind::kObject:
      delete static_cast<ObjectNode*>(u_.node);
      break;
    default:
      break;
  }
}

const Value::StringNode& Value::str_node() const {
  return *static_cast<StringNode*>(u_.node);
}
const Value::ArrayNode& Value::array_node() const {
  return *static_cast<ArrayNode*>(u_.node);
}
const Value::ObjectNode& Value::object_node() const {
  return *static_cast<ObjectNode*>(u_.node);
}

Value Value::Array(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::kArray;
  v.u_.node = new ArrayNode(std::move(items));
  return v;
}

Value Value::Object(std::vector<Member> members) {
  Value v;
  v.kind_ = Kind::kObject;
  v.u_.node = new ObjectNode(std::move(members));
  return v;
}

int64_t Value::as_int() const {
  if (kind_ == Kind::kInt) return u_.i;
  if (kind_ == Kind::kDouble) return static_cast<int64_t>(u_.d);
  return 0;
}

double Value::as_double() const {
  if (kind_ == Kind::kDouble) return u_.d;
  if (kind_ == Kind::kInt) return static_cast<double>(u_.i);
  return 0;
}

const std::string& Value::as_string() const {
  return kind_ == Kind::kString ? str_node().str : kEmptyString;
}
const std::vector<Value>& Value::items() const {
  return kind_ == Kind::kArray ? array_node().items : kEmptyItems;
}
const std::vector<Member>& Value::members() const {
  return kind_ == Kind::kObject ? object_node().members : kEmptyMembers;
}
size_t Value::size() const {
  if (kind_ == Kind::kArray) return array_node().items.size();
  if (kind_ == Kind::kObject) return object_node().members.size();
  return 0;
}

const Value* Value::Find(std::string_view key) const {
  if (kind_ != Kind::kObject) return nullptr;
  for (const Member& m : object_node().members) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

const Value* Value::FindPath(std::string_view dotted) const {
  const Value* cur = this;
  while (cur != nullptr) {
    size_t dot = dotted.find('.');
    cur = cur->Find(dotted.substr(0, dot));
    if (dot == std::string_view::npos) return cur;
    dotted.remove_prefix(dot + 1);
  }
  return nullptr;
}

const Value& Value::operator[](std::string_view key) const {
  const Value* v = Find(key);
  return v != nullptr ? *v : kNull;
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_int() && b.is_int()) return a.u_.i == b.u_.i;
    return a.as_double() == b.as_double();
  }
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kBool:
      return a.u_.b == b.u_.b;
    case Value::Kind::kString:
      return a.u_.node == b.u_.node || a.str_node().str == b.str_node().str;
    case Value::Kind::kArray:
      return a.u_.node == b.u_.node || a.array_node().items == b.array_node().items;
    case Value::Kind::kObject: {
      if (a.u_.node == b.u_.node) return true;
      if (a.size() != b.size()) return false;
      for (const Member& m : a.object_node().members) {
        const Value* other = b.Find(m.first);
        if (other == nullptr || !(*other == m.second)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

void AppendJsonString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + start, i - start);
    start = i + 1;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xf]);
    }
  }
  out->append(s.data() + start, s.size() - start);
  out->push_back('"');
}

void Value::AppendJson(std::string* out) const {
  switch (kind_) {
    case Kind::kNull:
      out->append("null");
      return;
    case Kind::kBool:
      out->append(u_.b ? "true" : "false");
      return;
    case Kind::kInt: {
      char buf[24];
      auto res = std::to_chars(buf, buf + sizeof(buf), u_.i);
      out->append(buf, res.ptr);
      return;
    }
    case Kind::kDouble:
      AppendDouble(u_.d, out);
      return;
    case Kind::kString:
      AppendJsonString(str_node().str, out);
      return;
    case Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Value& v : array_node().items) {
        if (!first) out->push_back(',');
        first = false;
        v.AppendJson(out);
      }
      out->push_back(']');
      return;
    }
    case Kind::kObject: {
      out->push_back('{');
      bool first = true;
      for (const Member& m : object_node().members) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(m.first, out);
        out->push_back(':');
        m.second.AppendJson(out);
      }
      out->push_back('}');
      return;
    }
  }
}

std::string Value::ToJson() const {
  std::string out;
  AppendJson(&out);
  return out;
}

Result<Value> Value::ParseJson(std::string_view json) {
  // One parser per thread: simdjson reuses its buffers between documents.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  auto error = parser.parse(json.data(), json.size()).get(root);
  if (error) {
    return Status::InvalidArgument(std::string("malformed JSON: ") +
                                   simdjson::error_message(error));
  }
  return FromSimdjson(root, 0);
}

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    auto byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

void PutLengthPrefixed(std::string_view s, std::string* out) {
  PutVarint(s.size(), out);
  out->append(s);
}

bool GetLengthPrefixed(std::string_view* in, std::string_view* s) {
  uint64_t len = 0;
  if (!GetVarint(in, &len) || len > in->size()) return false;
  *s = in->substr(0, len);
  in->remove_prefix(len);
  return true;
}

void Value::AppendBinary(std::string* out) const {
  switch (kind_) {
    case Kind::kNull:
      out->push_back(static_cast<char>(kTagNull));
      return;
    case Kind::kBool:
      out->push_back(static_cast<char>(u_.b ? kTagTrue : kTagFalse));
      return;
    case Kind::kInt:
      out->push_back(static_cast<char>(kTagInt));
      PutVarint(ZigZag(u_.i), out);
      return;
    case Kind::kDouble: {
      out->push_back(static_cast<char>(kTagDouble));
      uint64_t bits;
      std::memcpy(&bits, &u_.d, sizeof(bits));
      for (int i = 0; i < 8; ++i)
        out->push_back(static_cast<char>(bits >> (8 * i)));
      return;
    }
    case Kind::kString:
      out->push_back(static_cast<char>(kTagString));
      PutLengthPrefixed(str_node().str, out);
      return;
    case Kind::kArray:
      out->push_back(static_cast<char>(kTagArray));
      PutVarint(array_node().items.size(), out);
      for (const Value& v : array_node().items)
        v.AppendBinary(out);
      return;
    case Kind::kObject:
      out->push_back(static_cast<char>(kTagObject));
      PutVarint(object_node().members.size(), out);
      for (const Member& m : object_node().members) {
        PutLengthPrefixed(m.first, out);
        m.second.AppendBinary(out);
      }
      return;
  }
}

namespace {

Result<Value> DecodeBinaryImpl(std::string_view* in, int depth) {
  if (depth > kMaxDepth) return Status::Corruption("binary value nested deeper than 64 levels");
  if (in->empty()) return Status::Corruption("truncated binary value");
  auto tag = static_cast<uint8_t>(in->front());
  in->remove_prefix(1);
  switch (tag) {
    case kTagNull:
      return Value();
    case kTagFalse:
      return Value(false);
    case kTagTrue:
      return Value(true);
    case kTagInt: {
      uint64_t v;
      if (!GetVarint(in, &v)) return Status::Corruption("truncated integer");
      return Value(UnZigZag(v));
    }
    case kTagDouble: {
      if (in->size() < 8) return Status::Corruption("truncated double");
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i)
        bits |= static_cast<uint64_t>(static_cast<uint8_t>((*in)[i])) << (8 * i);
      in->remove_prefix(8);
      double d;
      std::memcpy(&d, &bits, sizeof(d));
      return Value(d);
    }
    case kTagString: {
      std::string_view s;
      if (!GetLengthPrefixed(in, &s)) return Status::Corruption("truncated string");
      return Value(s);
    }
    case kTagArray: {
      uint64_t n;
      if (!GetVarint(in, &n) || n > in->size()) return Status::Corruption("bad array length");
      std::vector<Value> items;
      items.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        ASSIGN_OR_RETURN(Value v, DecodeBinaryImpl(in, depth + 1));
        items.push_back(std::move(v));
      }
      return Value::Array(std::move(items));
    }
    case kTagObject: {
      uint64_t n;
      if (!GetVarint(in, &n) || n > in->size()) return Status::Corruption("bad object size");
      std::vector<Member> members;
      members.reserve(n);
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view key;
        if (!GetLengthPrefixed(in, &key)) return Status::Corruption("truncated object key");
        ASSIGN_OR_RETURN(Value v, DecodeBinaryImpl(in, depth + 1));
        members.emplace_back(std::string(key), std::move(v));
      }
      return Value::Object(std::move(members));
    }
    default:
      return Status::Corruption("unknown binary value tag " + std::to_string(tag));
  }
}

}  // namespace

Result<Value> Value::DecodeBinary(std::string_view* in) {
  return DecodeBinaryImpl(in, 0);
}

namespace binary {
void PutNull(std::string* out) {
  out->push_back(static_cast<char>(kTagNull));
}
void PutBool(bool b, std::string* out) {
  out->push_back(static_cast<char>(b ? kTagTrue : kTagFalse));
}
void PutInt(int64_t i, std::string* out) {
  out->push_back(static_cast<char>(kTagInt));
  PutVarint(ZigZag(i), out);
}
void PutString(std::string_view s, std::string* out) {
  out->push_back(static_cast<char>(kTagString));
  PutLengthPrefixed(s, out);
}
void PutArrayHeader(size_t items, std::string* out) {
  out->push_back(static_cast<char>(kTagArray));
  PutVarint(items, out);
}
void PutObjectHeader(size_t members, std::string* out) {
  out->push_back(static_cast<char>(kTagObject));
  PutVarint(members, out);
}

namespace {
bool GetTag(std::string_view* in, Tag tag) {
  if (in->empty() || static_cast<uint8_t>(in->front()) != tag) return false;
  in->remove_prefix(1);
  return true;
}
// A count of items or members; each takes at least one byte, so more than the rest is corrupt.
bool GetCount(std::string_view* in, Tag tag, size_t* n) {
  uint64_t v = 0;
  if (!GetTag(in, tag) || !GetVarint(in, &v) || v > in->size()) return false;
  *n = static_cast<size_t>(v);
  return true;
}
}  // namespace

bool GetBool(std::string_view* in, bool* b) {
  if (GetTag(in, kTagTrue)) {
    *b = true;
    return true;
  }
  *b = false;
  return GetTag(in, kTagFalse);
}
bool GetInt(std::string_view* in, int64_t* i) {
  uint64_t v = 0;
  if (!GetTag(in, kTagInt) || !GetVarint(in, &v)) return false;
  *i = UnZigZag(v);
  return true;
}
bool GetString(std::string_view* in, std::string_view* s) {
  return GetTag(in, kTagString) && GetLengthPrefixed(in, s);
}
bool GetArrayHeader(std::string_view* in, size_t* items) {
  return GetCount(in, kTagArray, items);
}
bool GetObjectHeader(std::string_view* in, size_t* members) {
  return GetCount(in, kTagObject, members);
}
}  // namespace binary

}  // namespace amtsweg
