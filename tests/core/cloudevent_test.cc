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

// ---------------------------------------------------------------------------------------------
// The Kafka protocol binding of CloudEvents 1.0 (kafka-protocol-binding.md), one test per rule:
// the numbers are its sections.

// The binary-mode message of kGood, as the binding's example in 3.2.4 lays it out.
MessageHeaders BinaryHeaders() {
  return {{"ce_specversion", "1.0"},      {"ce_id", "e1"},
          {"ce_source", "portal"},        {"ce_type", "de.amtsweg.task.responded"},
          {"ce_subject", "C-1"},          {"ce_time", "2026-01-15T09:00:00+01:00"},
          {"ce_participant", "ihk-kiel"}, {"content-type", "application/json"}};
}
constexpr char kBinaryValue[] = R"({"task":"t"})";

std::string BinaryErrorOf(std::string_view value, const MessageHeaders& headers) {
  Result<runtime::InputEvent> r = DecodeMessage(value, headers);
  return r.ok() ? "" : r.status().message();
}

// 3.1: the content-type header tells the modes apart; amtsweg also reads a bare JSON value.
TEST(KafkaBindingTest, ContentModeFromTheHeaders) {
  EXPECT_EQ(KafkaContentMode({}), ContentMode::kStructured);
  EXPECT_EQ(KafkaContentMode({{"content-type", "application/cloudevents+json"}}),
            ContentMode::kStructured);
  // Media types are case-insensitive, parameters do not count (RFC 2045), nor does the case of
  // the header name.
  EXPECT_EQ(KafkaContentMode({{"Content-Type", "Application/CloudEvents+JSON; charset=UTF-8"},
                              {"ce_specversion", "1.0"}}),
            ContentMode::kStructured);
  EXPECT_EQ(KafkaContentMode(BinaryHeaders()), ContentMode::kBinary);
  EXPECT_EQ(KafkaContentMode({{"CE_SPECVERSION", "1.0"}}), ContentMode::kBinary);
  EXPECT_EQ(KafkaContentMode({{"content-type", "application/json"}}), ContentMode::kStructured);
  EXPECT_TRUE(IsMediaType(" application/json ;charset=utf-8", "application/json"));
  EXPECT_FALSE(IsMediaType("application/json-seq", "application/json"));
}

// 3.2: binary mode: the ce_ headers are the attributes, content-type is datacontenttype, the
// value is the data; the same event as in structured mode.
TEST(KafkaBindingTest, BinaryModeDecodesToTheStructuredEvent) {
  Result<runtime::InputEvent> structured = DecodeCloudEvent(kGood);
  Result<runtime::InputEvent> binary = DecodeMessage(kBinaryValue, BinaryHeaders());
  ASSERT_TRUE(structured.ok());
  ASSERT_TRUE(binary.ok()) << binary.status().ToString();
  EXPECT_EQ(binary->id, structured->id);
  EXPECT_EQ(binary->source, structured->source);
  EXPECT_EQ(binary->type, structured->type);
  EXPECT_EQ(binary->subject, structured->subject);
  EXPECT_EQ(binary->time, structured->time);
  EXPECT_EQ(binary->participant, structured->participant);
  EXPECT_EQ(binary->data, structured->data);
}

// 3.2.3: header names are matched without regard to case; attribute names are lower case.
// Headers that are no attribute (tracing, the forwarder's stamps) are not the event's.
TEST(KafkaBindingTest, HeaderNamesAreCaseInsensitive) {
  MessageHeaders headers;
  for (auto [name, value] : BinaryHeaders()) {
    std::string upper;
    for (char c : name)
      upper.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
    headers.emplace_back(upper, value);
  }
  headers.emplace_back("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  Result<runtime::InputEvent> in = DecodeMessage(kBinaryValue, headers);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->participant, "ihk-kiel");
  EXPECT_EQ(in->subject, "C-1");
}

// 3.2.1: datacontenttype is the content-type header; JSON is all the engine reads.
TEST(KafkaBindingTest, BinaryModeContentType) {
  MessageHeaders headers = BinaryHeaders();
  headers.back().second = "Application/JSON; charset=utf-8";
  EXPECT_EQ(BinaryErrorOf(kBinaryValue, headers), "");
  headers.pop_back();  // none: the value is read as JSON
  EXPECT_EQ(BinaryErrorOf(kBinaryValue, headers), "");
  headers.emplace_back("content-type", "text/plain");
  EXPECT_EQ(BinaryErrorOf("hello", headers),
            "datacontenttype 'text/plain' (header content-type) is not supported (expected "
            "application/json)");
}

// 3.2.2: no value, no data (the engine takes {}); a value that is not JSON is refused, naming
// where.
TEST(KafkaBindingTest, BinaryModeData) {
  Result<runtime::InputEvent> in = DecodeMessage("", BinaryHeaders());
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(in->data, Value::Object({}));
  EXPECT_NE(BinaryErrorOf("{\"a\":", BinaryHeaders())
                .find("binary-mode data (the message value) is not JSON"),
            std::string::npos);
  EXPECT_EQ(BinaryErrorOf("[1]", BinaryHeaders()),
            "binary-mode data (the message value) must be a JSON object");
}

// 3.2.3 and the core spec: a missing attribute names its header; a repeated one is ambiguous; a
// header cannot stand in for the data.
TEST(KafkaBindingTest, BinaryModeNamesTheHeaderThatIsWrong) {
  MessageHeaders headers = BinaryHeaders();
  headers.erase(headers.begin() + 1);  // ce_id
  EXPECT_EQ(BinaryErrorOf(kBinaryValue, headers),
            "missing CloudEvents attribute 'id' (header ce_id)");
  headers = BinaryHeaders();
  headers.emplace_back("CE_ID", "e2");
  EXPECT_EQ(BinaryErrorOf(kBinaryValue, headers),
            "header 'CE_ID' is repeated: which value holds is ambiguous");
  headers = BinaryHeaders();
  headers.emplace_back("ce_data", "{}");
  EXPECT_EQ(BinaryErrorOf(kBinaryValue, headers),
            "header 'ce_data': in binary mode the data is the message value");
  headers = BinaryHeaders();
  headers[0].second = "0.3";
  EXPECT_EQ(BinaryErrorOf(kBinaryValue, headers),
            "unsupported CloudEvents specversion '0.3' (expected 1.0)");
  headers = BinaryHeaders();
  headers[5].second = "yesterday";
  EXPECT_NE(
      BinaryErrorOf(kBinaryValue, headers).find("CloudEvents attribute 'time' (header ce_time)"),
      std::string::npos);
}

// 3.3: structured mode in another event format than JSON, or a batch, is refused by name.
TEST(KafkaBindingTest, StructuredModeOnlyInTheJsonFormat) {
  EXPECT_EQ(BinaryErrorOf(kGood, {{"content-type", "application/cloudevents+json"}}), "");
  EXPECT_EQ(BinaryErrorOf(kGood, {{"Content-Type", "APPLICATION/CLOUDEVENTS+JSON;charset=utf-8"}}),
            "");
  EXPECT_EQ(BinaryErrorOf(kGood, {{"content-type", "application/cloudevents+avro"}}),
            "content-type 'application/cloudevents+avro' is not supported (expected "
            "application/cloudevents+json, the JSON event format, or binary mode)");
  EXPECT_NE(BinaryErrorOf("[]", {{"content-type", "application/cloudevents-batch+json"}}), "");
  // The size limit holds in both modes, before anything is parsed.
  EXPECT_EQ(BinaryErrorOf(std::string(300000, ' '), BinaryHeaders()),
            "event of 300000 bytes exceeds the limit of 262144 bytes");
}

// 3.3 and 3.2 the other way: what amtsweg produces. Structured mode carries exactly one
// content-type, the JSON format's; binary mode the attributes as ce_ headers and the data as the
// value, and decodes to the same event.
TEST(KafkaBindingTest, EncodingInBothModes) {
  EXPECT_EQ(StructuredModeHeaders(),
            (MessageHeaders{{"content-type", "application/cloudevents+json"}}));
  Result<KafkaMessage> m = StructuredToBinary(kGood);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->headers, BinaryHeaders());
  EXPECT_EQ(m->value, kBinaryValue);
  EXPECT_EQ(KafkaContentMode(m->headers), ContentMode::kBinary);
  // Without datacontenttype the data is JSON: the binary message says so.
  Result<KafkaMessage> bare = StructuredToBinary(Without("datacontenttype"));
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->headers.back(),
            (std::pair<std::string, std::string>{"content-type", "application/json"}));
  // Number and boolean extension attributes in their canonical string form.
  Result<KafkaMessage> ext = StructuredToBinary(With("participant", Value(int64_t{42})));
  ASSERT_TRUE(ext.ok());
  EXPECT_EQ(ext->headers[6], (std::pair<std::string, std::string>{"ce_participant", "42"}));
  EXPECT_FALSE(StructuredToBinary("[1]").ok());
  EXPECT_FALSE(StructuredToBinary(With("participant", Value::Object({}))).ok());
}

// CloudEvents 1.0, 3.1.1: source + id identify an event. The audit stream's event of a domain
// event and what an organisation receives of it differ in data, so they differ in id.
TEST(CloudEventIdentityTest, AuditAndParticipantEventsHaveDistinctIds) {
  EXPECT_EQ(AuditEventId("GA-1", 21), "GA-1/21");
  EXPECT_EQ(ParticipantEventId("GA-1", 21, "statistikamt-nord"), "GA-1/21/statistikamt-nord");
  EXPECT_NE(ParticipantEventId("GA-1", 21, "a"), ParticipantEventId("GA-1", 21, "b"));
  EXPECT_NE(AuditEventId("GA-1", 21), ParticipantEventId("GA-1", 21, ""));
}

TEST(CloudEventIdentityTest, SourceMustBeAUriReference) {
  EXPECT_TRUE(CheckEventSource("amtsweg").ok());
  EXPECT_TRUE(CheckEventSource("https://amtsweg.example.de/sh").ok());
  EXPECT_TRUE(CheckEventSource("urn:amtsweg:land:sh").ok());
  EXPECT_EQ(CheckEventSource("").message(), "a CloudEvents source must not be empty");
  EXPECT_EQ(CheckEventSource("amt sweg").message(),
            "CloudEvents source 'amt sweg' has byte 32 at 3, which no URI-reference has "
            "(percent-encode it)");
  EXPECT_FALSE(CheckEventSource("a\"b").ok());
}

}  // namespace
}  // namespace amtsweg::core
