#include "engine/runtime/personal.h"

#include <utility>

namespace amtsweg::runtime {

namespace {

constexpr char kSnapshotSealed = 'S';

// What a seal is bound to: nobody can move a sealed part to another case, event or place.
std::string EventAad(std::string_view case_id, uint64_t seq) {
  std::string aad = "amtsweg.event.v1";
  aad.push_back('\0');
  aad.append(case_id);
  aad.push_back('\0');
  PutVarint(seq, &aad);
  return aad;
}

std::string SnapshotAad(std::string_view case_id) {
  std::string aad = "amtsweg.snapshot.v1";
  aad.push_back('\0');
  aad.append(case_id);
  return aad;
}

bool Covered(const std::vector<std::string>& paths, std::string_view dotted) {
  for (const std::string& p : paths) {
    if (dotted.size() >= p.size() && dotted.compare(0, p.size(), p) == 0 &&
        (dotted.size() == p.size() || dotted[p.size()] == '.'))
      return true;
  }
  return false;
}

// Which leaves of a member are personal: `dotted` is the leaf's path below the member, `key` its
// own name.
enum class Rule { kAll, kApplication, kResponse };

struct Splitter {
  const PersonalPaths& paths;
  std::vector<std::string>* pointers;
  std::vector<Value>* values;

  bool Personal(Rule rule, std::string_view dotted, std::string_view key) const {
    switch (rule) {
      case Rule::kAll:
        return true;
      case Rule::kApplication:
        if (paths.all_application) return key != "ags" && key != "ars";
        return Covered(paths.application, dotted);
      case Rule::kResponse:
        if (dotted == "task") return false;
        if (paths.all_responses) return true;
        return Covered(paths.responses, dotted);
    }
    return true;
  }

  // `v` with its personal leaves replaced by null; `pointer` is v's JSON Pointer, `dotted` its
  // path below the member (empty for the member itself).
  Value Split(const Value& v, Rule rule, const std::string& pointer, const std::string& dotted,
              std::string_view key) {
    if (!v.is_object()) {
      if (v.is_null() || !Personal(rule, dotted, key)) return v;
      pointers->push_back(pointer);
      values->push_back(v);
      return Value();
    }
    std::vector<Member> members;
    members.reserve(v.size());
    for (const auto& [k, member] : v.members()) {
      std::string child_pointer = pointer;
      child_pointer += JsonPointer({k});
      std::string child_dotted = dotted;
      if (!child_dotted.empty()) child_dotted += '.';
      child_dotted += k;
      members.emplace_back(k, Split(member, rule, child_pointer, child_dotted, k));
    }
    return Value::Object(std::move(members));
  }

  void String(std::string* s, const std::string& pointer) {
    if (s->empty()) return;
    pointers->push_back(pointer);
    values->push_back(Value(std::move(*s)));
    s->clear();
  }
  void OptionalValue(std::optional<Value>* v, Rule rule, const std::string& pointer) {
    if (v->has_value()) **v = Split(**v, rule, pointer, "", "");
  }

  // Each type's personal members (see personal.h); other types have none.
  void operator()(CaseOpened& d) {
    d.application = Split(d.application, Rule::kApplication, "/application", "", "");
    d.variables = Split(d.variables, Rule::kAll, "/variables", "", "");
  }
  void operator()(VariableSet& d) { d.value = Split(d.value, Rule::kAll, "/value", "", ""); }
  void operator()(NotificationDisclosed& d) {
    OptionalValue(&d.content, Rule::kAll, "/content");
    if (d.reply_reference.has_value()) String(&*d.reply_reference, "/reply_reference");
  }
  void operator()(TaskRequested& d) { OptionalValue(&d.content, Rule::kAll, "/content"); }
  void operator()(ResponseRecorded& d) {
    d.response = Split(d.response, Rule::kResponse, "/response", "", "");
  }
  void operator()(DeadlineExtended& d) { String(&d.reason, "/reason"); }
  template <typename T>
  void operator()(T&) {}
};

bool HasPersonalMembers(DomainType t) {
  switch (t) {
    case DomainType::kCaseOpened:
    case DomainType::kVariableSet:
    case DomainType::kNotificationDisclosed:
    case DomainType::kTaskRequested:
    case DomainType::kResponseRecorded:
    case DomainType::kDeadlineExtended:
      return true;
    default:
      return false;
  }
}

// Puts `v` back at the pointer's place in the typed data.
struct Merger {
  const std::vector<std::string>& segments;
  Value v;
  bool ok = true;

  void Into(Value* member) { *member = WithValueAt(*member, segments, 1, std::move(v)); }
  void Into(std::optional<Value>* member) {
    if (!member->has_value()) member->emplace();
    Into(&**member);
  }
  void Into(std::string* member) {
    if (segments.size() != 1 || !v.is_string()) {
      ok = false;
      return;
    }
    *member = v.as_string();
  }
  void Into(std::optional<std::string>* member) {
    if (!member->has_value()) member->emplace();
    Into(&**member);
  }

  void operator()(CaseOpened& d) {
    if (segments[0] == "application") return Into(&d.application);
    if (segments[0] == "variables") return Into(&d.variables);
    ok = false;
  }
  void operator()(VariableSet& d) {
    if (segments[0] == "value") return Into(&d.value);
    ok = false;
  }
  void operator()(NotificationDisclosed& d) {
    if (segments[0] == "content") return Into(&d.content);
    if (segments[0] == "reply_reference") return Into(&d.reply_reference);
    ok = false;
  }
  void operator()(TaskRequested& d) {
    if (segments[0] == "content") return Into(&d.content);
    ok = false;
  }
  void operator()(ResponseRecorded& d) {
    if (segments[0] == "response") return Into(&d.response);
    ok = false;
  }
  void operator()(DeadlineExtended& d) {
    if (segments[0] == "reason") return Into(&d.reason);
    ok = false;
  }
  template <typename T>
  void operator()(T&) {
    ok = false;
  }
};

std::string EncodeArray(const std::vector<const Value*>& values) {
  std::string out;
  binary::PutArrayHeader(values.size(), &out);
  for (const Value* v : values)
    v->AppendBinary(&out);
  return out;
}

Result<std::vector<Value>> DecodeArray(std::string_view in, size_t expected) {
  size_t n = 0;
  if (!binary::GetArrayHeader(&in, &n) || n != expected)
    return Status::Corruption("sealed values: not an array of " + std::to_string(expected));
  std::vector<Value> values;
  values.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(Value v, Value::DecodeBinary(&in));
    values.push_back(std::move(v));
  }
  if (!in.empty()) return Status::Corruption("sealed values: trailing bytes");
  return values;
}

}  // namespace

const PersonalPaths& DefaultPersonalPaths() {
  static const PersonalPaths kDefault;
  return kDefault;
}

std::string JsonPointer(const std::vector<std::string_view>& segments) {
  std::string out;
  for (std::string_view s : segments) {
    out.push_back('/');
    for (char c : s) {
      if (c == '~') {
        out.append("~0");
      } else if (c == '/') {
        out.append("~1");
      } else {
        out.push_back(c);
      }
    }
  }
  return out;
}

std::vector<std::string> ParseJsonPointer(std::string_view pointer) {
  std::vector<std::string> segments;
  if (pointer.empty() || pointer[0] != '/') return segments;
  std::string current;
  for (size_t i = 1; i <= pointer.size(); ++i) {
    if (i == pointer.size() || pointer[i] == '/') {
      segments.push_back(std::move(current));
      current.clear();
    } else if (pointer[i] == '~' && i + 1 < pointer.size() &&
               (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
      current.push_back(pointer[i + 1] == '0' ? '~' : '/');
      ++i;
    } else {
      current.push_back(pointer[i]);
    }
  }
  return segments;
}

Value WithValueAt(const Value& v, const std::vector<std::string>& segments, size_t from,
                  Value replacement) {
  if (from >= segments.size()) return replacement;
  std::vector<Member> members = v.is_object() ? v.members() : std::vector<Member>();
  for (Member& m : members) {
    if (m.first == segments[from]) {
      m.second = WithValueAt(m.second, segments, from + 1, std::move(replacement));
      return Value::Object(std::move(members));
    }
  }
  members.emplace_back(segments[from],
                       WithValueAt(Value(), segments, from + 1, std::move(replacement)));
  return Value::Object(std::move(members));
}

void EncodeStoredEvent(const DomainEvent& e, std::string_view case_id, const PersonalPaths& paths,
                       const Sealer* sealer, std::string* out) {
  if (sealer == nullptr || !HasPersonalMembers(e.type)) return EncodeEvent(e, out);
  DomainEvent split = e;
  std::vector<Value> values;
  Splitter splitter{paths, &split.sealed_paths, &values};
  std::visit(splitter, split.data);
  if (values.empty()) return EncodeEvent(e, out);
  std::vector<const Value*> refs;
  refs.reserve(values.size());
  for (const Value& v : values)
    refs.push_back(&v);
  sealer->Seal(EventAad(case_id, e.seq), EncodeArray(refs), &split.sealed);
  EncodeEvent(split, out);
}

Status UnsealEvent(std::string_view case_id, const Sealer* sealer, DomainEvent* e) {
  if (e->sealed_paths.empty()) return Status::OK();
  if (sealer == nullptr) {
    e->erased = true;
    e->sealed.clear();
    return Status::OK();
  }
  Result<std::string> plain = sealer->Open(EventAad(case_id, e->seq), e->sealed);
  if (!plain.ok()) {
    return plain.status().WithContext("case " + std::string(case_id) + " event " +
                                      std::to_string(e->seq));
  }
  ASSIGN_OR_RETURN(std::vector<Value> values, DecodeArray(*plain, e->sealed_paths.size()));
  for (size_t i = 0; i < values.size(); ++i) {
    std::vector<std::string> segments = ParseJsonPointer(e->sealed_paths[i]);
    if (segments.empty()) return Status::Corruption("sealed path '" + e->sealed_paths[i] + "'");
    Merger merger{segments, std::move(values[i])};
    std::visit([&merger](auto& d) { merger(d); }, e->data);
    if (!merger.ok) {
      return Status::Corruption("case " + std::string(case_id) + " event " +
                                std::to_string(e->seq) + ": sealed path '" + e->sealed_paths[i] +
                                "' is not a personal member of " +
                                std::string(DomainTypeName(e->type)));
    }
  }
  e->sealed_paths.clear();
  e->sealed.clear();
  return Status::OK();
}

std::string EncodeSealedSnapshot(const CaseState& s, const Sealer& sealer) {
  std::vector<const Value*> personal;
  std::string plain = EncodeSnapshot(s, &personal);
  std::string out;
  out.reserve(plain.size() + 64);
  out.push_back(kSnapshotSealed);
  PutLengthPrefixed(plain, &out);
  std::string sealed;
  sealer.Seal(SnapshotAad(s.id), EncodeArray(personal), &sealed);
  PutLengthPrefixed(sealed, &out);
  return out;
}

Result<CaseState> DecodeStoredSnapshot(std::string_view in, std::string_view case_id,
                                       const Sealer* sealer, bool* sealed_unread) {
  if (sealed_unread != nullptr) *sealed_unread = false;
  if (in.empty() || in[0] != kSnapshotSealed) return DecodeSnapshot(in);
  in.remove_prefix(1);
  std::string_view plain, sealed;
  if (!GetLengthPrefixed(&in, &plain) || !GetLengthPrefixed(&in, &sealed) || !in.empty())
    return Status::Corruption("case " + std::string(case_id) + ": truncated sealed snapshot");
  ASSIGN_OR_RETURN(CaseState s, DecodeSnapshot(plain));
  if (sealer == nullptr) {
    if (sealed_unread != nullptr) *sealed_unread = true;
    return s;
  }
  Result<std::string> opened = sealer->Open(SnapshotAad(case_id), sealed);
  if (!opened.ok())
    return opened.status().WithContext("case " + std::string(case_id) + " snapshot");
  std::vector<Value*> places{&s.vars};
  for (TaskState& t : s.tasks) {
    for (TaskRole& r : t.roles) {
      if (r.responded) places.push_back(&r.response);
    }
  }
  ASSIGN_OR_RETURN(std::vector<Value> values, DecodeArray(*opened, places.size()));
  for (size_t i = 0; i < values.size(); ++i)
    *places[i] = std::move(values[i]);
  return s;
}

}  // namespace amtsweg::runtime
