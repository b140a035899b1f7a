#include "engine/common/value.h"

#include <gtest/gtest.h>

namespace amtsweg {
namespace {

TEST(ValueTest, ParsesAndWritesJsonRoundTrip) {
  const std::string json =
      R"({"a":1,"b":[true,false,null],"c":"x\"y\n","d":1.5,"e":{"f":-7},"g":"\u00e4"})";
  Result<Value> v = Value::ParseJson(json);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->ToJson(),
            R"({"a":1,"b":[true,false,null],"c":"x\"y\n","d":1.5,"e":{"f":-7},"g":"ä"})");
  EXPECT_EQ((*v)["a"].as_int(), 1);
  EXPECT_EQ(v->FindPath("e.f")->as_int(), -7);
  EXPECT_EQ(v->FindPath("e.g"), nullptr);
  EXPECT_EQ(v->FindPath("a.b"), nullptr);
}

TEST(ValueTest, RejectsMalformedJsonAndDuplicateKeys) {
  EXPECT_FALSE(Value::ParseJson("{\"a\":").ok());
  EXPECT_FALSE(Value::ParseJson("").ok());
  Result<Value> dup = Value::ParseJson(R"({"a":1,"a":2})");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("duplicate"), std::string::npos);
}

TEST(ValueTest, RejectsExcessiveNesting) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(Value::ParseJson(deep).ok());
}

TEST(ValueTest, BinaryRoundTripIsExact) {
  Value v = ObjectBuilder()
                .Add("int", int64_t{-1234567890123})
                .Add("dbl", 0.1)
                .Add("str", "Gewerbeamt Kiel")
                .Add("arr", Value::Array({Value(), Value(true), Value(3)}))
                .Build();
  std::string bin;
  v.AppendBinary(&bin);
  std::string_view in = bin;
  Result<Value> back = Value::DecodeBinary(&in);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(*back, v);
  EXPECT_EQ(back->ToJson(), v.ToJson());
}

TEST(ValueTest, TruncatedBinaryIsCorruption) {
  Value v = ObjectBuilder().Add("k", "value").Build();
  std::string bin;
  v.AppendBinary(&bin);
  for (size_t cut = 0; cut < bin.size(); ++cut) {
    std::string_view in(bin.data(), cut);
    EXPECT_FALSE(Value::DecodeBinary(&in).ok()) << "cut at " << cut;
  }
}

TEST(ValueTest, EqualityTreatsIntAndDoubleAsNumbers) {
  EXPECT_EQ(Value(1), Value(1.0));
  EXPECT_FALSE(Value(1) == Value("1"));
  EXPECT_EQ(ObjectBuilder().Add("a", 1).Add("b", 2).Build(),
            ObjectBuilder().Add("b", 2).Add("a", 1).Build());
}

TEST(ValueTest, DoublesStayDoublesThroughJson) {
  Result<Value> v = Value::ParseJson(Value(2.0).ToJson());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->kind(), Value::Kind::kDouble);
}

TEST(ValueTest, CopiesShareAndOutliveTheOriginal) {
  const std::string long_text(40, 'x');
  Value a = ObjectBuilder().Add("s", long_text).Add("n", 1).Build();
  Value b = a;
  Value c;
  c = b;
  Value& alias = c;
  c = alias;
  a = Value();
  EXPECT_EQ(b["s"].as_string(), long_text);
  Value d = std::move(b);
  EXPECT_TRUE(b.is_null());  // NOLINT(bugprone-use-after-move): moved-from is null
  EXPECT_EQ(d, c);
  EXPECT_EQ(sizeof(Value), 16u);
}

TEST(ValueTest, BinaryBuildingBlocksWriteTheBytesOfTheValue) {
  Value v = ObjectBuilder()
                .Add("s", "text")
                .Add("i", -5)
                .Add("b", true)
                .Add("n", Value())
                .Add("a", Value::Array({Value(1)}))
                .Build();
  std::string expected;
  v.AppendBinary(&expected);
  std::string out;
  binary::PutObjectHeader(5, &out);
  binary::PutKey("s", &out);
  binary::PutString("text", &out);
  binary::PutKey("i", &out);
  binary::PutInt(-5, &out);
  binary::PutKey("b", &out);
  binary::PutBool(true, &out);
  binary::PutKey("n", &out);
  binary::PutNull(&out);
  binary::PutKey("a", &out);
  binary::PutArrayHeader(1, &out);
  binary::PutInt(1, &out);
  EXPECT_EQ(out, expected);
}

}  // namespace
}  // namespace amtsweg
