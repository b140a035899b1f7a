#include "engine/common/value.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstring>

namespace amtsweg {

struct Value::Node {
  std::string str;
  std::vector<Value> items;
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
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

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
      return Value(std::string(el.get_string().value_unsafe()));
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
  auto node = std::make_shared<Node>();
  node->str = std::move(s);
  node_ = std::move(node);
}

Value Value::Array(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::kArray;
  auto node = std::make_shared<Node>();
  node->items = std::move(items);
  v.node_ = std::move(node);
  return v;
}

Value Value::Object(std::vector<Member> members) {
  Value v;
  v.kind_ = Kind::kObject;
  auto node = std::make_shared<Node>();
  node->members = std::move(members);
  v.node_ = std::move(node);
  return v;
}

int64_t Value::as_int() const {
  if (kind_ == Kind::kInt) return scalar_.i;
  if (kind_ == Kind::kDouble) return static_cast<int64_t>(scalar_.d);
  return 0;
}

double Value::as_double() const {
  if (kind_ == Kind::kDouble) return scalar_.d;
  if (kind_ == Kind::kInt) return static_cast<double>(scalar_.i);
  return 0;
}

const std::string& Value::as_string() const {
  return kind_ == Kind::kString ? node_->str : kEmptyString;
}
const std::vector<Value>& Value::items() const {
  return kind_ == Kind::kArray ? node_->items : kEmptyItems;
}
const std::vector<Member>& Value::members() const {
  return kind_ == Kind::kObject ? node_->members : kEmptyMembers;
}
size_t Value::size() const {
  if (kind_ == Kind::kArray) return node_->items.size();
  if (kind_ == Kind::kObject) return node_->members.size();
  return 0;
}

const Value* Value::Find(std::string_view key) const {
  if (kind_ != Kind::kObject) return nullptr;
  for (const Member& m : node_->members) {
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
    if (a.is_int() && b.is_int()) return a.scalar_.i == b.scalar_.i;
    return a.as_double() == b.as_double();
  }
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Value::Kind::kNull:
      return true;
    case Value::Kind::kBool:
      return a.scalar_.b == b.scalar_.b;
    case Value::Kind::kString:
      return a.node_ == b.node_ || a.node_->str == b.node_->str;
    case Value::Kind::kArray:
      return a.node_ == b.node_ || a.node_->items == b.node_->items;
    case Value::Kind::kObject: {
      if (a.node_ == b.node_) return true;
      if (a.size() != b.size()) return false;
      for (const Member& m : a.node_->members) {
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
      out->append(scalar_.b ? "true" : "false");
      return;
    case Kind::kInt: {
      char buf[24];
      auto res = std::to_chars(buf, buf + sizeof(buf), scalar_.i);
      out->append(buf, res.ptr);
      return;
    }
    case Kind::kDouble:
      AppendDouble(scalar_.d, out);
      return;
    case Kind::kString:
      AppendJsonString(node_->str, out);
      return;
    case Kind::kArray: {
      out->push_back('[');
      bool first = true;
      for (const Value& v : node_->items) {
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
      for (const Member& m : node_->members) {
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
      out->push_back(static_cast<char>(scalar_.b ? kTagTrue : kTagFalse));
      return;
    case Kind::kInt:
      out->push_back(static_cast<char>(kTagInt));
      PutVarint(ZigZag(scalar_.i), out);
      return;
    case Kind::kDouble: {
      out->push_back(static_cast<char>(kTagDouble));
      uint64_t bits;
      std::memcpy(&bits, &scalar_.d, sizeof(bits));
      for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(bits >> (8 * i)));
      return;
    }
    case Kind::kString:
      out->push_back(static_cast<char>(kTagString));
      PutLengthPrefixed(node_->str, out);
      return;
    case Kind::kArray:
      out->push_back(static_cast<char>(kTagArray));
      PutVarint(node_->items.size(), out);
      for (const Value& v : node_->items) v.AppendBinary(out);
      return;
    case Kind::kObject:
      out->push_back(static_cast<char>(kTagObject));
      PutVarint(node_->members.size(), out);
      for (const Member& m : node_->members) {
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
      for (int i = 0; i < 8; ++i) bits |= static_cast<uint64_t>(static_cast<uint8_t>((*in)[i])) << (8 * i);
      in->remove_prefix(8);
      double d;
      std::memcpy(&d, &bits, sizeof(d));
      return Value(d);
    }
    case kTagString: {
      std::string_view s;
      if (!GetLengthPrefixed(in, &s)) return Status::Corruption("truncated string");
      return Value(std::string(s));
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

Result<Value> Value::DecodeBinary(std::string_view* in) { return DecodeBinaryImpl(in, 0); }

}  // namespace amtsweg
