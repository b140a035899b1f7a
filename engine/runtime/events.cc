#include "engine/runtime/events.h"

#include <array>
#include <utility>

namespace amtsweg::runtime {

namespace {

constexpr std::array<std::string_view, kDomainTypeCount> kNames = {
    "case.opened",
    "participant.resolved",
    "state.entered",
    "variable.set",
    "notification.disclosed",
    "task.requested",
    "response.recorded",
    "task.completed",
    "deadline.started",
    "deadline.extended",
    "deadline.expired",
    "deadline.cancelled",
    "certificate.issued",
    "case.closed",
    "input.rejected",
    "notification.undeliverable",
    "case.erased",
    "case.migrated",
};

// Encoding 1: every type's data at version 1. Encoding 2 (for types past their first version):
// the type's version, a varint, follows the type byte.
constexpr uint8_t kEncodingVersion = 1;
constexpr uint8_t kEncodingVersioned = 2;
// Encoding 3: with personal values sealed (personal.h). The type's version always follows the
// type byte, and the data is followed by varint(n), n x lp(JSON Pointer), lp(ciphertext).
constexpr uint8_t kEncodingSealed = 3;
constexpr size_t kTypicalEventBytes = 256;

template <size_t I>
constexpr bool TypesInOrder() {
  if constexpr (I == kDomainTypeCount) {
    return true;
  } else {
    return std::variant_alternative_t<I, EventData>::kType == static_cast<DomainType>(I + 1) &&
           TypesInOrder<I + 1>();
  }
}
static_assert(TypesInOrder<0>(), "EventData's alternatives must be in DomainType order");

template <size_t... I>
constexpr std::array<uint32_t, kDomainTypeCount> Versions(std::index_sequence<I...>) {
  return {std::variant_alternative_t<I, EventData>::kVersion...};
}
constexpr std::array<uint32_t, kDomainTypeCount> kVersions =
    Versions(std::make_index_sequence<kDomainTypeCount>());

// --- Member codecs: one per member type --------------------------------------------------

void Put(const std::string& v, std::string* out) {
  binary::PutString(v, out);
}
void Put(int64_t v, std::string* out) {
  binary::PutInt(v, out);
}
void Put(bool v, std::string* out) {
  binary::PutBool(v, out);
}
void Put(const Value& v, std::string* out) {
  v.AppendBinary(out);
}
void Put(const std::vector<std::string>& v, std::string* out) {
  binary::PutArrayHeader(v.size(), out);
  for (const std::string& s : v)
    binary::PutString(s, out);
}

bool Get(std::string_view* in, std::string* v) {
  std::string_view s;
  if (!binary::GetString(in, &s)) return false;
  *v = std::string(s);
  return true;
}
bool Get(std::string_view* in, int64_t* v) {
  return binary::GetInt(in, v);
}
bool Get(std::string_view* in, bool* v) {
  return binary::GetBool(in, v);
}
bool Get(std::string_view* in, Value* v) {
  Result<Value> r = Value::DecodeBinary(in);
  if (!r.ok()) return false;
  *v = std::move(r).value();
  return true;
}
bool Get(std::string_view* in, std::vector<std::string>* v) {
  size_t n = 0;
  if (!binary::GetArrayHeader(in, &n)) return false;
  v->reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string_view s;
    if (!binary::GetString(in, &s)) return false;
    v->emplace_back(s);
  }
  return true;
}

Value ToValue(const std::string& v) {
  return Value(v);
}
Value ToValue(int64_t v) {
  return Value(v);
}
Value ToValue(bool v) {
  return Value(v);
}
Value ToValue(const Value& v) {
  return v;
}
Value ToValue(const std::vector<std::string>& v) {
  std::vector<Value> items(v.begin(), v.end());
  return Value::Array(std::move(items));
}

template <typename M>
struct IsOptional : std::false_type {};
template <typename M>
struct IsOptional<std::optional<M>> : std::true_type {};

// --- Schema walkers -------------------------------------------------------------------------

template <typename T, typename F>
void ForEachField(F&& f) {
  std::apply([&](const auto&... field) { (f(field), ...); }, schema::Of<T>::kFields);
}

// A Field (key and member) or a Flattened group.
template <typename F>
concept IsField = requires(const F& f) {
  f.key;
};

template <typename T>
size_t CountMembers(const T& t) {
  size_t n = 0;
  ForEachField<T>([&](const auto& field) {
    const auto& m = t.*field.member;
    if constexpr (!IsField<std::decay_t<decltype(field)>>) {
      if (m.has_value()) n += CountMembers(*m);
    } else if constexpr (IsOptional<std::decay_t<decltype(m)>>::value) {
      n += m.has_value();
    } else {
      n += 1;
    }
  });
  return n;
}

template <typename T>
void PutMembers(const T& t, std::string* out) {
  ForEachField<T>([&](const auto& field) {
    const auto& m = t.*field.member;
    if constexpr (IsField<std::decay_t<decltype(field)>>) {
      if constexpr (IsOptional<std::decay_t<decltype(m)>>::value) {
        if (!m.has_value()) return;
        binary::PutKey(field.key, out);
        Put(*m, out);
      } else {
        binary::PutKey(field.key, out);
        Put(m, out);
      }
    } else if (m.has_value()) {
      PutMembers(*m, out);
    }
  });
}

template <typename T>
void PutData(const T& t, std::string* out) {
  binary::PutObjectHeader(CountMembers(t), out);
  PutMembers(t, out);
}

template <typename T>
void AddMembers(const T& t, ObjectBuilder* b) {
  ForEachField<T>([&](const auto& field) {
    const auto& m = t.*field.member;
    if constexpr (IsField<std::decay_t<decltype(field)>>) {
      if constexpr (IsOptional<std::decay_t<decltype(m)>>::value) {
        if (m.has_value()) b->Add(std::string(field.key), ToValue(*m));
      } else {
        b->Add(std::string(field.key), ToValue(m));
      }
    } else if (m.has_value()) {
      AddMembers(*m, b);
    }
  });
}

// Reads an object's members in schema order. On a mismatch, records what went wrong (keys are
// the schemas', so they outlive the reader) for Error().
class Reader {
 public:
  explicit Reader(std::string_view* in) : in_(in) {}

  bool Header() {
    if (binary::GetObjectHeader(in_, &left_)) return true;
    what_ = "data is not an object";
    return false;
  }
  // Whether the next member has `key`; consumes the key when it has.
  bool Next(std::string_view key) {
    std::string_view rest = *in_, k;
    if (left_ == 0 || !binary::GetKey(&rest, &k) || k != key) return false;
    *in_ = rest;
    --left_;
    return true;
  }
  // Whether the next member has `key`, without consuming it.
  bool Peek(std::string_view key) const {
    std::string_view rest = *in_, k;
    return left_ > 0 && binary::GetKey(&rest, &k) && k == key;
  }
  bool Required(std::string_view key) {
    if (Next(key)) return true;
    what_ = "expected member";
    key_ = key;
    return false;
  }
  template <typename M>
  bool Read(std::string_view key, M* m) {
    if (Get(in_, m)) return true;
    what_ = "member of another kind, or truncated:";
    key_ = key;
    return false;
  }
  bool End() {
    if (left_ == 0) return true;
    std::string_view rest = *in_;
    binary::GetKey(&rest, &extra_);
    what_ = "unexpected member";
    return false;
  }
  Status Error(DomainType type) const {
    std::string text =
        "domain event data (" + std::string(DomainTypeName(type)) + "): " + std::string(what_);
    if (!key_.empty()) text += " '" + std::string(key_) + "'";
    if (!extra_.empty()) text += " '" + std::string(extra_) + "'";
    return Status::Corruption(text);
  }

 private:
  std::string_view* in_;
  size_t left_ = 0;
  std::string_view what_, key_, extra_;  // extra_ points into the input
};

template <typename T>
bool GetMembers(Reader& r, T* t) {
  bool ok = true;
  ForEachField<T>([&](const auto& field) {
    if (!ok) return;
    auto& m = t->*field.member;
    if constexpr (IsField<std::decay_t<decltype(field)>>) {
      if constexpr (IsOptional<std::decay_t<decltype(m)>>::value) {
        if (r.Next(field.key)) ok = r.Read(field.key, &m.emplace());
      } else {
        ok = r.Required(field.key) && r.Read(field.key, &m);
      }
    } else {
      using G = typename std::decay_t<decltype(m)>::value_type;
      // All or none: present when its first member is next.
      if (r.Peek(std::get<0>(schema::Of<G>::kFields).key)) ok = GetMembers(r, &m.emplace());
    }
  });
  return ok;
}

// How data stored at an older version of T becomes a T. None exists yet: every type is at its
// first version. For a type's next version, specialise this with the old schema's decoder and
// the conversion (see events.h, "Types and versions").
template <typename T>
struct Upgrader {
  static Status Decode(uint64_t version, std::string_view*, T*) {
    return Status::Corruption("domain event: no version " + std::to_string(version) + " of type " +
                              std::string(DomainTypeName(T::kType)));
  }
};

template <typename T>
Status DecodeData(uint64_t version, std::string_view* in, EventData* out) {
  T& t = out->emplace<T>();
  if (version != T::kVersion) return Upgrader<T>::Decode(version, in, &t);
  Reader r(in);
  if (!r.Header() || !GetMembers(r, &t) || !r.End()) return r.Error(T::kType);
  return Status::OK();
}

using DataDecoder = Status (*)(uint64_t, std::string_view*, EventData*);
template <size_t... I>
constexpr std::array<DataDecoder, kDomainTypeCount> Decoders(std::index_sequence<I...>) {
  return {&DecodeData<std::variant_alternative_t<I, EventData>>...};
}
constexpr std::array<DataDecoder, kDomainTypeCount> kDecoders =
    Decoders(std::make_index_sequence<kDomainTypeCount>());

}  // namespace

std::string_view DomainTypeName(DomainType t) {
  auto i = static_cast<size_t>(t) - 1;
  return i < kNames.size() ? kNames[i] : "unknown";
}

std::optional<DomainType> ParseDomainType(std::string_view name) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<DomainType>(i + 1);
  }
  return std::nullopt;
}

uint32_t VersionOf(DomainType t) {
  auto i = static_cast<size_t>(t) - 1;
  return i < kVersions.size() ? kVersions[i] : 0;
}

void EncodeEvent(const DomainEvent& e, std::string* out) {
  // Most events take a few hundred bytes: growing the string from empty cost more than writing.
  out->reserve(out->size() + kTypicalEventBytes);
  const DomainType type = TypeOf(e.data);
  const uint32_t version = VersionOf(type);
  const bool sealed = !e.sealed_paths.empty();
  out->push_back(static_cast<char>(sealed         ? kEncodingSealed
                                   : version == 1 ? kEncodingVersion
                                                  : kEncodingVersioned));
  PutVarint(e.seq, out);
  PutVarint(static_cast<uint64_t>(e.time), out);
  out->push_back(static_cast<char>(type));
  if (sealed || version != 1) PutVarint(version, out);
  PutLengthPrefixed(e.cause, out);
  std::visit([out](const auto& d) { PutData(d, out); }, e.data);
  if (!sealed) return;
  PutVarint(e.sealed_paths.size(), out);
  for (const std::string& path : e.sealed_paths)
    PutLengthPrefixed(path, out);
  PutLengthPrefixed(e.sealed, out);
}

Result<DomainEvent> DecodeEvent(std::string_view in) {
  const uint8_t encoding = in.empty() ? 0 : static_cast<uint8_t>(in[0]);
  if (encoding != kEncodingVersion && encoding != kEncodingVersioned &&
      encoding != kEncodingSealed) {
    return Status::Corruption("domain event: unknown encoding version");
  }
  in.remove_prefix(1);
  DomainEvent e;
  uint64_t time = 0;
  std::string_view cause;
  if (!GetVarint(&in, &e.seq) || !GetVarint(&in, &time) || in.empty()) {
    return Status::Corruption("domain event: truncated header");
  }
  e.time = static_cast<Timestamp>(time);
  auto type = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (type < 1 || type > kDomainTypeCount) {
    return Status::Corruption("domain event: unknown type " + std::to_string(type));
  }
  e.type = static_cast<DomainType>(type);
  uint64_t version = 1;
  if (encoding == kEncodingVersioned) {
    // Version 1 is always written as encoding 1: one event, one encoding.
    if (!GetVarint(&in, &version) || version < 2) {
      return Status::Corruption("domain event: bad type version");
    }
  } else if (encoding == kEncodingSealed) {
    if (!GetVarint(&in, &version) || version < 1) {
      return Status::Corruption("domain event: bad type version");
    }
  }
  if (!GetLengthPrefixed(&in, &cause)) return Status::Corruption("domain event: truncated cause");
  e.cause = std::string(cause);
  RETURN_IF_ERROR(kDecoders[type - 1](version, &in, &e.data));
  if (encoding == kEncodingSealed) {
    uint64_t n = 0;
    std::string_view blob;
    if (!GetVarint(&in, &n) || n == 0 || n > in.size()) {
      return Status::Corruption("domain event: bad sealed section");
    }
    e.sealed_paths.reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view path;
      if (!GetLengthPrefixed(&in, &path)) return Status::Corruption("domain event: truncated path");
      e.sealed_paths.emplace_back(path);
    }
    if (!GetLengthPrefixed(&in, &blob)) return Status::Corruption("domain event: truncated seal");
    e.sealed = std::string(blob);
  }
  if (!in.empty()) return Status::Corruption("domain event: trailing bytes");
  return e;
}

Value DataToValue(const EventData& d) {
  return std::visit(
      [](const auto& t) {
        ObjectBuilder b(CountMembers(t));
        AddMembers(t, &b);
        return b.Build();
      },
      d);
}

Value EventToValue(const DomainEvent& e) {
  return EventToValue(e, DataToValue(e.data));
}

Value EventToValue(const DomainEvent& e, Value data) {
  ObjectBuilder b(6);
  b.Add("seq", static_cast<int64_t>(e.seq))
      .Add("time", FormatTimestamp(e.time))
      .Add("type", DomainTypeName(e.type))
      .Add("cause", e.cause)
      .Add("data", std::move(data));
  if (!e.sealed_paths.empty()) {
    // Erased: the key is gone. Sealed: read without the key store (the values exist).
    std::vector<Value> paths(e.sealed_paths.begin(), e.sealed_paths.end());
    b.Add(e.erased ? "erased" : "sealed", Value::Array(std::move(paths)));
  }
  return b.Build();
}

}  // namespace amtsweg::runtime
