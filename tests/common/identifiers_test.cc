#include "engine/common/identifiers.h"

#include <gtest/gtest.h>

namespace amtsweg::ids {
namespace {

TEST(IdentifiersTest, AgsArsAndLeikaForms) {
  EXPECT_TRUE(IsAgs("01002000"));
  EXPECT_TRUE(IsAgs("16053000"));
  EXPECT_FALSE(IsAgs("17002000"));  // no Land 17
  EXPECT_FALSE(IsAgs("00002000"));
  EXPECT_FALSE(IsAgs("0100200"));
  EXPECT_FALSE(IsAgs("01002 00"));
  EXPECT_TRUE(IsArs("010020000000"));
  EXPECT_FALSE(IsArs("01002000"));
  EXPECT_EQ(AgsOfArs("010585821043"), "01058043");  // Eckernförde via its Amt's ARS (sample)
  EXPECT_TRUE(IsLeika("99050012104000"));
  EXPECT_FALSE(IsLeika("98050012104000"));
  EXPECT_FALSE(IsLeika("9905001210400"));
  EXPECT_TRUE(IsAgsPrefix("0"));
  EXPECT_TRUE(IsAgsPrefix("01"));
  EXPECT_TRUE(IsAgsPrefix("01058"));
  EXPECT_FALSE(IsAgsPrefix("17"));
  EXPECT_FALSE(IsAgsPrefix("010020001"));
  EXPECT_FALSE(IsAgsPrefix(""));
}

TEST(IdentifiersTest, MunicipalityKeyNamesTheFieldAndTheForm) {
  EXPECT_EQ(*MunicipalityKey(Value("01002000"), "application.ags"), "01002000");
  EXPECT_EQ(*MunicipalityKey(Value("010020000000"), "application.ags"), "01002000");
  auto message = [](const Value& v) {
    Result<std::string> r = MunicipalityKey(v, "application.betrieb.ags");
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(message(Value()),
            "application.betrieb.ags is missing (an AGS: 8 digits such as \"01002000\", or an ARS: "
            "12 digits)");
  EXPECT_EQ(message(Value(int64_t{1002000})),
            "application.betrieb.ags is the number 1002000; an AGS is a string of 8 digits "
            "(\"01002000\", the leading zero is part of the key), an ARS a string of 12");
  EXPECT_EQ(message(Value("0100200")),
            "application.betrieb.ags '0100200' is not an AGS (8 digits) or an ARS (12 digits)");
  EXPECT_EQ(message(Value("17002000")),
            "application.betrieb.ags '17002000': Land code '17' does not exist (01 to 16)");
  EXPECT_EQ(message(Value::Array({})),
            "application.betrieb.ags must be a string: an AGS of 8 digits or an ARS of 12");
}

TEST(IdentifiersTest, LeikaNamesTheFieldAndTheForm) {
  EXPECT_TRUE(CheckLeika(Value("99050012104000"), "data.leika").ok());
  EXPECT_EQ(CheckLeika(Value(), "data.leika").message(),
            "data.leika (the LeiKa service key) is missing");
  EXPECT_EQ(CheckLeika(Value(int64_t{99050012104000}), "data.leika").message(),
            "data.leika is the number 99050012104000; a LeiKa key is a string of 14 digits "
            "starting with 99 (\"99050012104000\")");
  EXPECT_EQ(CheckLeika(Value("9905001210400"), "data.leika").message(),
            "data.leika '9905001210400' is not a LeiKa key (14 digits starting with 99, "
            "^99\\d{12}$)");
}

}  // namespace
}  // namespace amtsweg::ids
