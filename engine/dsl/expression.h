// The condition and value expression language of workflow definitions.
//
//   expr    := or
//   or      := and ("or" and)*
//   and     := not ("and" not)*
//   not     := "not" not | cmp
//   cmp     := primary (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") primary)?
//   primary := literal | path | list | call | "(" expr ")"
//   literal := string ('..' or "..") | number | true | false | null
//   path    := root ("." name)*      root is one of: data, vars, application
//   list    := "[" (expr ("," expr)*)? "]"
//   call    := exists(path) | starts_with(expr, expr) | len(expr)
//
// Evaluation is total and deterministic: a missing path is null; comparing values of different
// kinds is false (except numbers with numbers); "<" etc. compare numbers or strings; "in" tests
// membership in a list, or a substring in a string. Thread-safe once parsed (immutable).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/common/value.h"

namespace amtsweg::dsl {

// What an expression can read. Any pointer may be null (reads as null).
struct EvalContext {
  const Value* data = nullptr;         // data of the input event being handled
  const Value* vars = nullptr;         // case variables (an object)
  const Value* application = nullptr;  // data of the event that opened the case
};

// A three-valued answer: whether a condition holds, or that it depends on what is not known.
enum class Truth { kFalse, kTrue, kUnknown };

class Expression {
 public:
  struct Node;

  // Parses `text`. On error the message starts with "column N: " (1-based, within `text`).
  static Result<std::shared_ptr<const Expression>> Parse(std::string_view text);

  Value Evaluate(const EvalContext& ctx) const;
  // Truthiness of Evaluate: false, null, 0, "" and empty lists/objects are false.
  bool Test(const EvalContext& ctx) const;
  // For static checks: like Test, but a path (as written, "data.decision") for which `known`
  // answers false has an unknown value; kUnknown when the answer depends on one. `and`/`or`
  // follow Kleene's logic (false and unknown = false).
  Truth TestPartially(const EvalContext& ctx,
                      const std::function<bool(std::string_view path)>& known) const;

  const std::string& text() const { return text_; }
  // Every path the expression reads, as written ("vars.craft", "data.business.ags").
  const std::vector<std::string>& paths() const { return paths_; }

  ~Expression();
  Expression(const Expression&) = delete;
  Expression& operator=(const Expression&) = delete;

 private:
  Expression() = default;
  std::string text_;
  std::vector<std::string> paths_;
  std::unique_ptr<Node> root_;
};

using ExprPtr = std::shared_ptr<const Expression>;

}  // namespace amtsweg::dsl
