#include "engine/core/cloudevent.h"

#include <gtest/gtest.h>

namespace amtsweg::core {
namespace {

constexpr char kGood[] =
    R"({"specversion":"1.0","id":"e1","source":"portal","type":"de.amtsweg.task.responded",)"
    R"("subject":"C-1","time":"2026-01-15T09:00:00+01:00","participant":"ihk-kiel",)"
    R"("datacontenttype":"application/json","data":{"task":"t"}})";

std::string Without(std::string_view attr) {
  Result<Value> v = Value::ParseJson(kGood);
  std::vector<Member> members;
  for (const Member& m : v->members()) {
    if (m.first != attr) members.push_back(m);
  }
  return Value::Object(std::move(members)).ToJson();
}

std::string With(std::string_view attr, const Value& value) {
  Result<Value> v = Value::ParseJson(kGood);
  std::vector<Member> members = v->members();
  for (Member& m : members) {
    if (m.first == attr) m.second = value;
  }
  return Value::Object(std::move(members)).ToJson();
}

std::string ErrorOf(std::string_view json, size_t max = kDefaultMaxEventBytes) {
  Result<runtime::InputEvent> r = DecodeCloudEvent(json, max);
  return r.ok() ? "" : r.status().message();
}

TEST(CloudEventTest, DecodesAStructuredEvent) {
  Result<runtime::InputEvent> in = DecodeCloudEvent(kGood);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->id, "e1");
  EXPECT_EQ(in->subject, "C-1");
  EXPECT_EQ(in->participant, "ihk-kiel");
  EXPECT_EQ(FormatTimestamp(in->time), "2026-01-15T08:00:00Z");
  EXPECT_EQ(in->data["task"].as_string(), "t");
}

TEST(CloudEventTest, NamesWhatIsWrong) {
  EXPECT_NE(ErrorOf(kGood, 50).find("exceeds the limit of 50 bytes"), std::string::npos);
  EXPECT_NE(ErrorOf("{").find("malformed JSON"), std::string::npos);
  EXPECT_NE(ErrorOf("[1]").find("JSON object"), std::string::npos);
  for (const char* attr : {"specversion", "id", "source", "type", "subject", "time"}) {
    EXPECT_NE(ErrorOf(Without(attr)).find(std::string("'") + attr + "'"), std::string::npos)
        << attr;
  }
  EXPECT_NE(ErrorOf(With("specversion", "0.3")).find("specversion '0.3'"), std::string::npos);
  EXPECT_NE(ErrorOf(With("id", 7)).find("'id' must be a string"), std::string::npos);
  EXPECT_NE(ErrorOf(With("id", "")).find("'id' is empty"), std::string::npos);
  EXPECT_NE(ErrorOf(With("time", "yesterday")).find("'time'"), std::string::npos);
  EXPECT_NE(ErrorOf(With("datacontenttype", "text/xml")).find("text/xml"), std::string::npos);
  EXPECT_NE(ErrorOf(With("data", "text")).find("'data' must be a JSON object"), std::string::npos);
  EXPECT_NE(ErrorOf(With("subject", "a\nb")).find("control character"), std::string::npos);
  EXPECT_NE(ErrorOf(With("subject", std::string(201, 'x'))).find("200 bytes"), std::string::npos);
  EXPECT_NE(ErrorOf(With("type", "de.amtsweg.timer.fired")).find("internal"), std::string::npos);
}

TEST(CloudEventTest, ClockEventNeedsNoSubject) {
  std::string clock =
      R"({"specversion":"1.0","id":"k","source":"ops","type":"de.amtsweg.clock.advanced",)"
      R"("time":"2026-06-01T00:00:00Z"})";
  Result<runtime::InputEvent> in = DecodeCloudEvent(clock);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_TRUE(in->data.is_object());
}

TEST(CloudEventTest, EncodeDecodeRoundTrip) {
  Value data = ObjectBuilder().Add("fields", ObjectBuilder().Add("name", "Jensen").Build()).Build();
  std::string json = EncodeCloudEvent("C-1/5", "amtsweg", "de.amtsweg.notification.disclosed",
                                      "C-1", *ParseTimestamp("2026-01-15T09:00:00Z"), data);
  Result<runtime::InputEvent> in = DecodeCloudEvent(json);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->id, "C-1/5");
  EXPECT_EQ(in->data, data);
}

}  // namespace
}  // namespace amtsweg::core
