#include "engine/dsl/expression.h"

#include <gtest/gtest.h>

#include <chrono>

namespace amtsweg::dsl {
namespace {

Value Json(std::string_view text) {
  auto v = Value::ParseJson(text);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  return v.ok() ? *v : Value();
}

class ExpressionTest : public ::testing::Test {
 protected:
  Value data_ = Json(R"({"decision":"accepted","count":3,"ratio":0.5,"flag":true,
                         "tags":["a","b"],"empty":"","nested":{"x":{"y":7}},"nothing":null})");
  Value vars_ = Json(R"({"einvernehmen":"fingiert","done":false,"n":2})");
  Value app_ = Json(R"({"betrieb":{"ags":"01002000","handwerk":true,"name":"Müller GmbH"}})");
  EvalContext ctx_{&data_, &vars_, &app_};

  Value Eval(std::string_view text) {
    auto e = Expression::Parse(text);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
    return e.ok() ? (*e)->Evaluate(ctx_) : Value("<parse error>");
  }
  bool Test(std::string_view text) {
    auto e = Expression::Parse(text);
    EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
    return e.ok() && (*e)->Test(ctx_);
  }
  std::string Error(std::string_view text) {
    auto e = Expression::Parse(text);
    EXPECT_FALSE(e.ok()) << text;
    return e.ok() ? "" : e.status().message();
  }
};

TEST_F(ExpressionTest, Literals) {
  EXPECT_EQ(Eval("'text'"), Value("text"));
  EXPECT_EQ(Eval("\"dq\""), Value("dq"));
  EXPECT_EQ(Eval("'it\\'s'"), Value("it's"));
  EXPECT_EQ(Eval("42"), Value(42));
  EXPECT_EQ(Eval("-7"), Value(-7));
  EXPECT_EQ(Eval("2.5"), Value(2.5));
  EXPECT_EQ(Eval("true"), Value(true));
  EXPECT_EQ(Eval("false"), Value(false));
  EXPECT_TRUE(Eval("null").is_null());
  EXPECT_EQ(Eval("[1, 'a', true]"), Value::Array({Value(1), Value("a"), Value(true)}));
  EXPECT_EQ(Eval("[]"), Value::Array({}));
}

TEST_F(ExpressionTest, Paths) {
  EXPECT_EQ(Eval("data.decision"), Value("accepted"));
  EXPECT_EQ(Eval("data.nested.x.y"), Value(7));
  EXPECT_EQ(Eval("vars.einvernehmen"), Value("fingiert"));
  EXPECT_EQ(Eval("application.betrieb.ags"), Value("01002000"));
  EXPECT_TRUE(Eval("data.missing.deeper").is_null());
  EXPECT_TRUE(Eval("data.decision.sub").is_null());  // through a string
  EXPECT_EQ(Eval("data"), data_);
}

TEST_F(ExpressionTest, NullContextReadsAsNull) {
  EvalContext empty;
  auto e = Expression::Parse("data.x == null and vars.y == null and application.z == null");
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE((*e)->Test(empty));
}

TEST_F(ExpressionTest, Equality) {
  EXPECT_TRUE(Test("data.decision == 'accepted'"));
  EXPECT_FALSE(Test("data.decision == 'rejected'"));
  EXPECT_TRUE(Test("data.decision != 'rejected'"));
  EXPECT_TRUE(Test("data.count == 3"));
  EXPECT_TRUE(Test("data.count == 3.0"));   // numbers compare across int and double
  EXPECT_FALSE(Test("data.count == '3'"));  // mixed kinds are never equal
  EXPECT_TRUE(Test("data.count != '3'"));
  EXPECT_TRUE(Test("data.missing == null"));
  EXPECT_TRUE(Test("data.nothing == null"));
  EXPECT_TRUE(Test("data.tags == ['a', 'b']"));
  EXPECT_TRUE(Test("application.betrieb.handwerk == true"));
}

TEST_F(ExpressionTest, Ordering) {
  EXPECT_TRUE(Test("data.count < 4"));
  EXPECT_FALSE(Test("data.count < 3"));
  EXPECT_TRUE(Test("data.count <= 3"));
  EXPECT_TRUE(Test("data.count > 2.5"));
  EXPECT_FALSE(Test("data.count > 3"));
  EXPECT_TRUE(Test("data.count >= 3"));
  EXPECT_TRUE(Test("data.ratio < 1"));
  EXPECT_TRUE(Test("'abc' < 'abd'"));
  EXPECT_TRUE(Test("'b' >= 'a'"));
  // Mixed kinds and nulls never order.
  EXPECT_FALSE(Test("data.count < '4'"));
  EXPECT_FALSE(Test("data.count >= '4'"));
  EXPECT_FALSE(Test("data.missing < 1"));
  EXPECT_FALSE(Test("data.missing >= 1"));
  EXPECT_FALSE(Test("true > false"));
}

TEST_F(ExpressionTest, Membership) {
  EXPECT_TRUE(Test("data.decision in ['accepted', 'rejected']"));
  EXPECT_FALSE(Test("data.decision in ['rejected']"));
  EXPECT_TRUE(Test("data.decision not in ['rejected']"));
  EXPECT_TRUE(Test("'b' in data.tags"));
  EXPECT_TRUE(Test("3 in [1, 2, 3.0]"));
  EXPECT_TRUE(Test("'cep' in data.decision"));  // substring
  EXPECT_FALSE(Test("'xyz' in data.decision"));
  EXPECT_TRUE(Test("'xyz' not in data.decision"));
  EXPECT_FALSE(Test("1 in 'a1'"));            // number in string: false
  EXPECT_FALSE(Test("'a' in data.missing"));  // null haystack
  EXPECT_FALSE(Test("'x' in data.nested"));   // objects are not searched
}

TEST_F(ExpressionTest, Logic) {
  EXPECT_TRUE(Test("data.flag and data.count == 3"));
  EXPECT_FALSE(Test("data.flag and vars.done"));
  EXPECT_TRUE(Test("vars.done or data.flag"));
  EXPECT_FALSE(Test("vars.done or data.missing"));
  EXPECT_TRUE(Test("not vars.done"));
  EXPECT_TRUE(Test("not not data.flag"));
  EXPECT_TRUE(Test("not data.decision == 'rejected'"));  // not binds looser than ==
  // and binds tighter than or.
  EXPECT_TRUE(Test("true or false and false"));
  EXPECT_FALSE(Test("(true or false) and false"));
  EXPECT_EQ(Eval("data.flag and data.count"), Value(true));  // logic yields booleans
}

TEST_F(ExpressionTest, Truthiness) {
  EXPECT_FALSE(Test("data.empty"));
  EXPECT_FALSE(Test("data.missing"));
  EXPECT_FALSE(Test("0"));
  EXPECT_FALSE(Test("0.0"));
  EXPECT_FALSE(Test("[]"));
  EXPECT_TRUE(Test("[0]"));
  EXPECT_TRUE(Test("data.tags"));
  EXPECT_TRUE(Test("data.nested"));
  EXPECT_TRUE(Test("'x'"));
  EXPECT_TRUE(Test("-1"));
}

TEST_F(ExpressionTest, Functions) {
  EXPECT_TRUE(Test("exists(data.decision)"));
  EXPECT_FALSE(Test("exists(data.missing)"));
  EXPECT_FALSE(Test("exists(data.nothing)"));  // present but null
  EXPECT_TRUE(Test("exists(data.nested.x)"));
  EXPECT_TRUE(Test("starts_with(application.betrieb.ags, '01002')"));
  EXPECT_FALSE(Test("starts_with(application.betrieb.ags, '01003')"));
  EXPECT_FALSE(Test("starts_with(data.count, '3')"));
  EXPECT_EQ(Eval("len(data.tags)"), Value(2));
  EXPECT_EQ(Eval("len(application.betrieb.name)"), Value(11));  // code points, not bytes
  EXPECT_EQ(Eval("len(data.nested)"), Value(1));
  EXPECT_EQ(Eval("len(data.missing)"), Value(0));
  EXPECT_TRUE(Test("len(data.tags) == 2 and len('') == 0"));
}

TEST_F(ExpressionTest, PathsAreListedOnce) {
  auto e = Expression::Parse(
      "vars.a and data.b.c == application.d or exists(vars.a) or vars.e in [data.f]");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ((*e)->paths(),
            (std::vector<std::string>{"vars.a", "data.b.c", "application.d", "vars.e", "data.f"}));
  EXPECT_EQ((*e)->text(),
            "vars.a and data.b.c == application.d or exists(vars.a) or vars.e in [data.f]");
}

TEST_F(ExpressionTest, ErrorColumns) {
  EXPECT_EQ(Error(""), "column 1: unexpected end of expression");
  EXPECT_EQ(Error("data.x =="), "column 10: unexpected end of expression");
  EXPECT_EQ(Error("foo.bar == 1"),
            "column 1: unknown root 'foo'; expected data, vars or application");
  EXPECT_EQ(Error("data.x == 1 and case.y"),
            "column 17: unknown root 'case'; expected data, vars or application");
  EXPECT_EQ(Error("data.x = 1"), "column 8: unexpected '='; use '==' to compare");
  EXPECT_EQ(Error("(data.x == 1"), "column 13: expected ')' but found end of expression");
  EXPECT_EQ(Error("data.x == 'abc"), "column 11: unterminated string");
  EXPECT_EQ(Error("data.x == 1 1"), "column 13: unexpected '1'");
  EXPECT_EQ(Error("data. == 1"), "column 7: expected a name after '.' but found '=='");
  EXPECT_EQ(Error("[1, 2"), "column 6: expected ',' or ']' but found end of expression");
  EXPECT_EQ(Error("upper(data.x)"),
            "column 1: unknown function 'upper'; expected exists, starts_with or len");
  EXPECT_EQ(Error("exists('a')"), "column 8: exists() takes a path");
  EXPECT_EQ(Error("starts_with(data.x)"), "column 1: starts_with() takes 2 arguments");
  EXPECT_EQ(Error("len(data.x, 1)"), "column 1: len() takes 1 argument");
  EXPECT_EQ(Error("data.x == 1 == 2"), "column 13: unexpected '=='");
  EXPECT_EQ(Error("data.x & 1"), "column 8: unexpected character '&'");
  EXPECT_EQ(Error("and"), "column 1: unexpected keyword 'and'");
  EXPECT_EQ(Error("'\\q'"), "column 2: unknown escape '\\q'");
  EXPECT_EQ(Error("12ab"), "column 3: unexpected character after number");
  EXPECT_EQ(Error("99999999999999999999"), "column 1: integer out of range");
  // Nesting is limited so that hostile input cannot exhaust the stack.
  EXPECT_EQ(Error(std::string(100, '(') + "1" + std::string(100, ')')),
            "column 65: expression nested too deeply");
  std::string nots;
  for (int i = 0; i < 100; ++i)
    nots += "not ";
  EXPECT_EQ(Error(nots + "true"), "column 253: expression nested too deeply");
  EXPECT_TRUE(Expression::Parse(std::string(30, '(') + "1" + std::string(30, ')')).ok());
}

TEST_F(ExpressionTest, ComparisonIsFast) {
  // Not a benchmark; a guard against accidental per-evaluation allocation or copying. The
  // budget is generous so that it holds in Debug and under sanitizers.
  auto e = Expression::Parse("data.decision == 'accepted'");
  ASSERT_TRUE(e.ok());
  constexpr int kRounds = 200000;
  int hits = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i)
    hits += (*e)->Test(ctx_) ? 1 : 0;
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  EXPECT_EQ(hits, kRounds);
  double per = static_cast<double>(ns) / kRounds;
  RecordProperty("ns_per_eval", std::to_string(per));
  EXPECT_LT(per, 5000.0);
}

}  // namespace
}  // namespace amtsweg::dsl
