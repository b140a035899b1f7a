// Plain scalars typed by the YAML 1.2 core schema, as the JSON Schemas and YAML tools see them.
#include "engine/dsl/yaml_scalar.h"

#include <gtest/gtest.h>

namespace amtsweg::dsl {
namespace {

TEST(YamlScalar, PlainScalarsFollowTheCoreSchema) {
  for (const char* s : {"null", "Null", "NULL", "~", ""})
    EXPECT_EQ(PlainScalarType(s), ScalarType::kNull) << s;
  for (const char* s : {"true", "True", "TRUE", "false", "False", "FALSE"})
    EXPECT_EQ(PlainScalarType(s), ScalarType::kBool) << s;
  for (const char* s : {"0", "1", "-7", "+3", "01002", "0o17", "0x1F"})
    EXPECT_EQ(PlainScalarType(s), ScalarType::kInt) << s;
  for (const char* s : {"1.0", "1.", ".5", "1e3", "-2.5E-3", ".inf", "-.Inf", ".NaN"})
    EXPECT_EQ(PlainScalarType(s), ScalarType::kFloat) << s;
  // YAML 1.1 booleans, numbers with underscores, durations, versions with two dots: strings.
  for (const char* s : {"yes", "no", "on", "off", "y", "1_000", "P3M", "1.2.3", "0x", "0o8", "1e",
                        "truee", "nul", "99050012104000x"})
    EXPECT_EQ(PlainScalarType(s), ScalarType::kString) << s;
}

TEST(YamlScalar, QuotedAndBlockScalarsAreStrings) {
  YAML::Node doc = YAML::Load("a: \"1\"\nb: '2'\nc: |\n  3\nd: 4\ne: ~\nf: !!str 5\n");
  EXPECT_EQ(ScalarTypeOf(doc["a"]), ScalarType::kString);
  EXPECT_EQ(ScalarTypeOf(doc["b"]), ScalarType::kString);
  EXPECT_EQ(ScalarTypeOf(doc["c"]), ScalarType::kString);
  EXPECT_EQ(ScalarTypeOf(doc["d"]), ScalarType::kInt);
  EXPECT_EQ(ScalarTypeOf(doc["e"]), ScalarType::kNull);
  EXPECT_EQ(ScalarTypeOf(doc["f"]), ScalarType::kString);
}

}  // namespace
}  // namespace amtsweg::dsl
