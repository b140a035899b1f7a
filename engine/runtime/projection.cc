#include "engine/runtime/projection.h"

#include <charconv>

namespace amtsweg::runtime {

namespace {

const std::string kNoOrganisation;
const std::vector<std::string> kNoFields;

// The rule itself: f(path, value) for each disclosed path the application has.
template <typename F>
void ForEachDisclosed(const Value& application, const std::vector<std::string>& paths, F&& f) {
  for (const std::string& path : paths) {
    if (const Value* v = application.FindPath(path); v != nullptr) f(path, *v);
  }
}

// The view, member by member, written by one of the two writers below.
template <typename Out>
void WriteView(const Value& application, const NotificationDisclosed& d, Out& out) {
  using T = NotificationDisclosed;
  out.Add(KeyOf<&T::role>(), d.role);
  out.Add(KeyOf<&T::organisation>(), d.organisation);
  out.Fields(KeyOf<&T::fields>(), application, d.fields);
  if (d.content.has_value()) out.Add(KeyOf<&T::content>(), *d.content);
  if (d.reply_reference.has_value()) out.Add(KeyOf<&T::reply_reference>(), *d.reply_reference);
  out.Add(KeyOf<&T::basis>(), d.basis);
  out.Add(KeyOf<&T::message>(), d.message);
}

template <typename Out>
void WriteView(const Value& application, const TaskRequested& d, Out& out) {
  using T = TaskRequested;
  out.Add(KeyOf<&T::task>(), d.task);
  // `new` is the engine's bookkeeping of the task, not something the recipient is told.
  out.Add(KeyOf<&T::role>(), d.role);
  out.Add(KeyOf<&T::organisation>(), d.organisation);
  out.Add(KeyOf<&T::join>(), d.join);
  out.Add(KeyOf<&T::need>(), d.need);
  out.Fields(KeyOf<&T::fields>(), application, d.fields);
  if (d.content.has_value()) out.Add(KeyOf<&T::content>(), *d.content);
  out.Add(KeyOf<&T::basis>(), d.basis);
}

class ValueWriter {
 public:
  void Add(std::string_view key, const std::string& s) { b_.Add(std::string(key), s); }
  void Add(std::string_view key, int64_t i) { b_.Add(std::string(key), i); }
  void Add(std::string_view key, const Value& v) { b_.Add(std::string(key), v); }
  void Fields(std::string_view key, const Value& application,
              const std::vector<std::string>& paths) {
    b_.Add(std::string(key), ProjectFields(application, paths));
  }
  Value Build() { return b_.Build(); }

 private:
  ObjectBuilder b_{9};
};

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}
  void Add(std::string_view key, const std::string& s) { AppendJsonString(s, Key(key)); }
  void Add(std::string_view key, int64_t i) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof(buf), i);
    Key(key)->append(buf, res.ptr);
  }
  void Add(std::string_view key, const Value& v) { v.AppendJson(Key(key)); }
  void Fields(std::string_view key, const Value& application,
              const std::vector<std::string>& paths) {
    Key(key)->push_back('{');
    bool first = true;
    ForEachDisclosed(application, paths, [&](const std::string& path, const Value& v) {
      if (!first) out_->push_back(',');
      first = false;
      AppendJsonString(path, out_);
      out_->push_back(':');
      v.AppendJson(out_);
    });
    out_->push_back('}');
  }

 private:
  std::string* Key(std::string_view key) {
    out_->push_back(',');
    AppendJsonString(key, out_);
    out_->push_back(':');
    return out_;
  }
  std::string* out_;
};

}  // namespace

Value ProjectFields(const Value& application, const std::vector<std::string>& paths) {
  std::vector<Member> out;
  out.reserve(paths.size());
  ForEachDisclosed(application, paths,
                   [&](const std::string& path, const Value& v) { out.emplace_back(path, v); });
  return Value::Object(std::move(out));
}

bool IsDisclosure(const DomainEvent& e) {
  return e.As<NotificationDisclosed>() != nullptr || e.As<TaskRequested>() != nullptr;
}

const std::string& RecipientOf(const DomainEvent& e) {
  if (const auto* d = e.As<NotificationDisclosed>()) return d->organisation;
  if (const auto* d = e.As<TaskRequested>()) return d->organisation;
  return kNoOrganisation;
}

const std::vector<std::string>& DisclosedFieldsOf(const DomainEvent& e) {
  if (const auto* d = e.As<NotificationDisclosed>()) return d->fields;
  if (const auto* d = e.As<TaskRequested>()) return d->fields;
  return kNoFields;
}

Value RecipientView(const Value& application, const DomainEvent& e) {
  ValueWriter out;
  if (const auto* d = e.As<NotificationDisclosed>()) {
    WriteView(application, *d, out);
  } else if (const auto* t = e.As<TaskRequested>()) {
    WriteView(application, *t, out);
  } else {
    return Value();
  }
  return out.Build();
}

void AppendRecipientViewJson(const Value& application, const DomainEvent& e, std::string* out) {
  JsonWriter json(out);
  if (const auto* d = e.As<NotificationDisclosed>()) {
    WriteView(application, *d, json);
  } else if (const auto* t = e.As<TaskRequested>()) {
    WriteView(application, *t, json);
  }
}

}  // namespace amtsweg::runtime
