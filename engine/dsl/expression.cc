#include "engine/dsl/expression.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace amtsweg::dsl {

struct Expression::Node {
  enum class Op : uint8_t {
    kLiteral,
    kPath,
    kList,
    kNot,
    kAnd,
    kOr,
    kEq,
    kNe,
    kLt,
    kLe,
    kGt,
    kGe,
    kIn,
    kNotIn,
    kExists,
    kStartsWith,
    kLen,
  };
  enum class Root : uint8_t { kData, kVars, kApplication };

  Op op = Op::kLiteral;
  Root root = Root::kData;
  Value literal;                      // kLiteral
  std::vector<std::string> segments;  // kPath, after the root
  std::vector<std::unique_ptr<Node>> children;
};

namespace {

using Node = Expression::Node;
using Op = Node::Op;

const Value kNull;
const Value kTrue(true);
const Value kFalse(false);

// ---------------------------------------------------------------------------------------------
// Lexer

enum class Tok : uint8_t {
  kEnd,
  kIdent,
  kString,
  kInt,
  kDouble,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
};

struct Token {
  Tok kind = Tok::kEnd;
  size_t pos = 0;         // 0-based offset in the text
  std::string_view text;  // identifier or raw token
  std::string str;        // decoded string literal
  int64_t i = 0;
  double d = 0;
};

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsIdentChar(char c) {
  return IsIdentStart(c) || (c >= '0' && c <= '9');
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

std::string ColumnError(size_t pos, std::string_view msg) {
  return "column " + std::to_string(pos + 1) + ": " + std::string(msg);
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // Scans the whole text; on error sets `*error`.
  bool Scan(std::vector<Token>* out, std::string* error) {
    while (true) {
      while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' ||
                                     text_[pos_] == '\n' || text_[pos_] == '\r')) {
        ++pos_;
      }
      Token t;
      t.pos = pos_;
      if (pos_ == text_.size()) {
        out->push_back(std::move(t));
        return true;
      }
      char c = text_[pos_];
      if (IsIdentStart(c)) {
        size_t start = pos_;
        while (pos_ < text_.size() && IsIdentChar(text_[pos_]))
          ++pos_;
        t.kind = Tok::kIdent;
        t.text = text_.substr(start, pos_ - start);
      } else if (IsDigit(c) || (c == '-' && pos_ + 1 < text_.size() && IsDigit(text_[pos_ + 1]))) {
        if (!Number(&t, error)) return false;
      } else if (c == '\'' || c == '"') {
        if (!String(&t, error)) return false;
      } else {
        auto two = text_.substr(pos_, 2);
        auto single = [&](Tok k) {
          t.kind = k;
          ++pos_;
        };
        auto pair = [&](Tok k) {
          t.kind = k;
          pos_ += 2;
        };
        if (two == "==") {
          pair(Tok::kEq);
        } else if (two == "!=") {
          pair(Tok::kNe);
        } else if (two == "<=") {
          pair(Tok::kLe);
        } else if (two == ">=") {
          pair(Tok::kGe);
        } else if (c == '<') {
          single(Tok::kLt);
        } else if (c == '>') {
          single(Tok::kGt);
        } else if (c == '(') {
          single(Tok::kLParen);
        } else if (c == ')') {
          single(Tok::kRParen);
        } else if (c == '[') {
          single(Tok::kLBracket);
        } else if (c == ']') {
          single(Tok::kRBracket);
        } else if (c == ',') {
          single(Tok::kComma);
        } else if (c == '.') {
          single(Tok::kDot);
        } else if (c == '=') {
          *error = ColumnError(pos_, "unexpected '='; use '==' to compare");
          return false;
        } else {
          *error = ColumnError(pos_, std::string("unexpected character '") + c + "'");
          return false;
        }
        t.text = text_.substr(t.pos, pos_ - t.pos);
      }
      out->push_back(std::move(t));
    }
  }

 private:
  bool Number(Token* t, std::string* error) {
    size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    while (pos_ < text_.size() && IsDigit(text_[pos_]))
      ++pos_;
    bool is_double = false;
    if (pos_ + 1 < text_.size() && text_[pos_] == '.' && IsDigit(text_[pos_ + 1])) {
      is_double = true;
      ++pos_;
      while (pos_ < text_.size() && IsDigit(text_[pos_]))
        ++pos_;
    }
    if (pos_ < text_.size() && IsIdentStart(text_[pos_])) {
      *error = ColumnError(pos_, "unexpected character after number");
      return false;
    }
    t->text = text_.substr(start, pos_ - start);
    const char* b = t->text.data();
    const char* e = b + t->text.size();
    if (is_double) {
      t->kind = Tok::kDouble;
      auto r = std::from_chars(b, e, t->d);
      if (r.ec != std::errc() || !std::isfinite(t->d)) {
        *error = ColumnError(start, "number out of range");
        return false;
      }
    } else {
      t->kind = Tok::kInt;
      auto r = std::from_chars(b, e, t->i);
      if (r.ec != std::errc()) {
        *error = ColumnError(start, "integer out of range");
        return false;
      }
    }
    return true;
  }

  bool String(Token* t, std::string* error) {
    size_t start = pos_;
    char quote = text_[pos_++];
    std::string s;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      char c = text_[pos_];
      if (c == '\\') {
        if (pos_ + 1 == text_.size()) break;
        char n = text_[pos_ + 1];
        switch (n) {
          case '\\':
          case '\'':
          case '"':
            s.push_back(n);
            break;
          case 'n':
            s.push_back('\n');
            break;
          case 't':
            s.push_back('\t');
            break;
          default:
            *error = ColumnError(pos_, std::string("unknown escape '\\") + n + "'");
            return false;
        }
        pos_ += 2;
        continue;
      }
      s.push_back(c);
      ++pos_;
    }
    if (pos_ == text_.size()) {
      *error = ColumnError(start, "unterminated string");
      return false;
    }
    ++pos_;  // closing quote
    t->kind = Tok::kString;
    t->text = text_.substr(start, pos_ - start);
    t->str = std::move(s);
    return true;
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Parser

class Parser {
 public:
  Parser(std::vector<Token> tokens, std::vector<std::string>* paths)
      : toks_(std::move(tokens)), paths_(paths) {}

  std::unique_ptr<Node> ParseAll() {
    auto n = Or();
    if (n && Peek().kind != Tok::kEnd) return Fail(Peek(), "unexpected " + Describe(Peek()));
    return n;
  }
  const std::string& error() const { return error_; }

 private:
  const Token& Peek() const { return toks_[idx_]; }
  const Token& Next() { return toks_[idx_ < toks_.size() - 1 ? idx_++ : idx_]; }
  bool PeekKeyword(std::string_view kw, size_t ahead = 0) const {
    size_t i = std::min(idx_ + ahead, toks_.size() - 1);
    return toks_[i].kind == Tok::kIdent && toks_[i].text == kw;
  }

  static std::string Describe(const Token& t) {
    if (t.kind == Tok::kEnd) return "end of expression";
    // Built step by step: GCC 12 warns falsely (-Wrestrict) on "'" + std::string(...) at -O3.
    std::string quoted = "'";
    quoted.append(t.text);
    quoted.push_back('\'');
    return quoted;
  }

  std::unique_ptr<Node> Fail(const Token& at, std::string_view msg) {
    if (error_.empty()) error_ = ColumnError(at.pos, msg);
    return nullptr;
  }

  static std::unique_ptr<Node> Make(Op op) {
    auto n = std::make_unique<Node>();
    n->op = op;
    return n;
  }

  static std::unique_ptr<Node> Binary(Op op, std::unique_ptr<Node> a, std::unique_ptr<Node> b) {
    auto n = Make(op);
    n->children.push_back(std::move(a));
    n->children.push_back(std::move(b));
    return n;
  }

  // Nesting limit, so that hostile input cannot exhaust the stack.
  static constexpr int kMaxDepth = 64;

  std::unique_ptr<Node> Or() {
    if (++depth_ > kMaxDepth) return Fail(Peek(), "expression nested too deeply");
    auto left = OrInner();
    --depth_;
    return left;
  }

  std::unique_ptr<Node> OrInner() {
    auto left = And();
    while (left && PeekKeyword("or")) {
      Next();
      auto right = And();
      if (!right) return nullptr;
      left = Binary(Op::kOr, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<Node> And() {
    auto left = Not();
    while (left && PeekKeyword("and")) {
      Next();
      auto right = Not();
      if (!right) return nullptr;
      left = Binary(Op::kAnd, std::move(left), std::move(right));
    }
    return left;
  }

  std::unique_ptr<Node> Not() {
    if (PeekKeyword("not")) {
      if (++depth_ > kMaxDepth) return Fail(Peek(), "expression nested too deeply");
      Next();
      auto inner = Not();
      --depth_;
      if (!inner) return nullptr;
      auto n = Make(Op::kNot);
      n->children.push_back(std::move(inner));
      return n;
    }
    return Cmp();
  }

  std::unique_ptr<Node> Cmp() {
    auto left = Primary();
    if (!left) return nullptr;
    Op op;
    int width = 1;
    switch (Peek().kind) {
      case Tok::kEq:
        op = Op::kEq;
        break;
      case Tok::kNe:
        op = Op::kNe;
        break;
      case Tok::kLt:
        op = Op::kLt;
        break;
      case Tok::kLe:
        op = Op::kLe;
        break;
      case Tok::kGt:
        op = Op::kGt;
        break;
      case Tok::kGe:
        op = Op::kGe;
        break;
      default:
        if (PeekKeyword("in")) {
          op = Op::kIn;
        } else if (PeekKeyword("not") && PeekKeyword("in", 1)) {
          op = Op::kNotIn;
          width = 2;
        } else {
          return left;
        }
    }
    for (int i = 0; i < width; ++i)
      Next();
    auto right = Primary();
    if (!right) return nullptr;
    return Binary(op, std::move(left), std::move(right));
  }

  std::unique_ptr<Node> Primary() {
    const Token& t = Peek();
    switch (t.kind) {
      case Tok::kString: {
        auto n = Make(Op::kLiteral);
        n->literal = Value(t.str);
        Next();
        return n;
      }
      case Tok::kInt: {
        auto n = Make(Op::kLiteral);
        n->literal = Value(t.i);
        Next();
        return n;
      }
      case Tok::kDouble: {
        auto n = Make(Op::kLiteral);
        n->literal = Value(t.d);
        Next();
        return n;
      }
      case Tok::kLParen: {
        Next();
        auto inner = Or();
        if (!inner) return nullptr;
        if (Peek().kind != Tok::kRParen) {
          return Fail(Peek(), "expected ')' but found " + Describe(Peek()));
        }
        Next();
        return inner;
      }
      case Tok::kLBracket:
        return List();
      case Tok::kIdent:
        return Ident();
      case Tok::kEnd:
        return Fail(t, "unexpected end of expression");
      default:
        return Fail(t, "unexpected " + Describe(t));
    }
  }

  // A list of literals becomes one literal, so that `x in ['a', 'b']` does not build the list
  // on every evaluation.
  static std::unique_ptr<Node> FoldConstantList(std::unique_ptr<Node> n) {
    std::vector<Value> items;
    for (const auto& c : n->children) {
      if (c->op != Op::kLiteral) return n;
      items.push_back(c->literal);
    }
    auto lit = Make(Op::kLiteral);
    lit->literal = Value::Array(std::move(items));
    return lit;
  }

  std::unique_ptr<Node> List() {
    Next();  // [
    auto n = Make(Op::kList);
    if (Peek().kind == Tok::kRBracket) {
      Next();
      return FoldConstantList(std::move(n));
    }
    while (true) {
      auto item = Or();
      if (!item) return nullptr;
      n->children.push_back(std::move(item));
      if (Peek().kind == Tok::kComma) {
        Next();
        continue;
      }
      if (Peek().kind == Tok::kRBracket) {
        Next();
        return FoldConstantList(std::move(n));
      }
      return Fail(Peek(), "expected ',' or ']' but found " + Describe(Peek()));
    }
  }

  std::unique_ptr<Node> Ident() {
    const Token& t = Peek();
    std::string_view name = t.text;
    if (name == "true" || name == "false" || name == "null") {
      auto n = Make(Op::kLiteral);
      if (name != "null") n->literal = Value(name == "true");
      Next();
      return n;
    }
    if (name == "and" || name == "or" || name == "not" || name == "in") {
      return Fail(t, "unexpected keyword '" + std::string(name) + "'");
    }
    if (toks_[idx_ + 1].kind == Tok::kLParen) return Call();
    return Path();
  }

  std::unique_ptr<Node> Path() {
    const Token& t = Peek();
    auto n = Make(Op::kPath);
    if (t.text == "data") {
      n->root = Node::Root::kData;
    } else if (t.text == "vars") {
      n->root = Node::Root::kVars;
    } else if (t.text == "application") {
      n->root = Node::Root::kApplication;
    } else {
      return Fail(t,
                  "unknown root '" + std::string(t.text) + "'; expected data, vars or application");
    }
    std::string written(t.text);
    Next();
    while (Peek().kind == Tok::kDot) {
      Next();
      const Token& seg = Peek();
      if (seg.kind != Tok::kIdent) {
        return Fail(seg, "expected a name after '.' but found " + Describe(seg));
      }
      n->segments.emplace_back(seg.text);
      written += '.';
      written += seg.text;
      Next();
    }
    if (std::find(paths_->begin(), paths_->end(), written) == paths_->end()) {
      paths_->push_back(std::move(written));
    }
    return n;
  }

  std::unique_ptr<Node> Call() {
    const Token& name_tok = Peek();
    std::string_view name = name_tok.text;
    Op op;
    size_t arity;
    if (name == "exists") {
      op = Op::kExists;
      arity = 1;
    } else if (name == "starts_with") {
      op = Op::kStartsWith;
      arity = 2;
    } else if (name == "len") {
      op = Op::kLen;
      arity = 1;
    } else {
      return Fail(name_tok, "unknown function '" + std::string(name) +
                                "'; expected exists, starts_with or len");
    }
    Next();  // name
    Next();  // (
    auto n = Make(op);
    if (op == Op::kExists) {
      const Token& arg = Peek();
      if (arg.kind != Tok::kIdent || toks_[idx_ + 1].kind == Tok::kLParen || arg.text == "true" ||
          arg.text == "false" || arg.text == "null") {
        return Fail(arg, "exists() takes a path");
      }
      auto p = Path();
      if (!p) return nullptr;
      n->children.push_back(std::move(p));
    } else {
      while (true) {
        auto arg = Or();
        if (!arg) return nullptr;
        n->children.push_back(std::move(arg));
        if (Peek().kind != Tok::kComma) break;
        Next();
      }
    }
    if (Peek().kind != Tok::kRParen) {
      return Fail(Peek(), "expected ')' but found " + Describe(Peek()));
    }
    if (n->children.size() != arity) {
      return Fail(name_tok, std::string(name) + "() takes " + std::to_string(arity) +
                                (arity == 1 ? " argument" : " arguments"));
    }
    Next();
    return n;
  }

  std::vector<Token> toks_;
  size_t idx_ = 0;
  int depth_ = 0;
  std::vector<std::string>* paths_;
  std::string error_;
};

// ---------------------------------------------------------------------------------------------
// Evaluation. Eval returns a pointer to the node's value: into the context for paths, to the
// literal for literals, or to `*scratch` for computed values. Comparisons of paths with literals
// therefore never copy or allocate.

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      return false;
    case Value::Kind::kBool:
      return v.as_bool();
    case Value::Kind::kInt:
      return v.as_int() != 0;
    case Value::Kind::kDouble:
      return v.as_double() != 0;
    case Value::Kind::kString:
      return !v.as_string().empty();
    case Value::Kind::kArray:
    case Value::Kind::kObject:
      return v.size() != 0;
  }
  return false;
}

const Value* Lookup(const Node& n, const EvalContext& ctx) {
  const Value* cur = nullptr;
  switch (n.root) {
    case Node::Root::kData:
      cur = ctx.data;
      break;
    case Node::Root::kVars:
      cur = ctx.vars;
      break;
    case Node::Root::kApplication:
      cur = ctx.application;
      break;
  }
  for (const std::string& seg : n.segments) {
    if (cur == nullptr) break;
    cur = cur->Find(seg);
  }
  return cur == nullptr ? &kNull : cur;
}

// -1, 0, 1, or 2 when not comparable.
int Order(const Value& a, const Value& b) {
  if (a.is_int() && b.is_int()) {
    return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
  }
  if (a.is_number() && b.is_number()) {
    double x = a.as_double(), y = b.as_double();
    if (x < y) return -1;
    if (x > y) return 1;
    return x == y ? 0 : 2;  // NaN
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return 2;
}

bool Contains(const Value& needle, const Value& haystack) {
  if (haystack.is_array()) {
    for (const Value& item : haystack.items()) {
      if (item == needle) return true;
    }
    return false;
  }
  if (haystack.is_string() && needle.is_string()) {
    return haystack.as_string().find(needle.as_string()) != std::string::npos;
  }
  return false;
}

int64_t Utf8Length(const std::string& s) {
  int64_t n = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool TestNode(const Node& n, const EvalContext& ctx);
bool Compare(Op op, const Value& a, const Value& b);

const Value* Eval(const Node& n, const EvalContext& ctx, Value* scratch) {
  switch (n.op) {
    case Op::kLiteral:
      return &n.literal;
    case Op::kPath:
      return Lookup(n, ctx);
    case Op::kList: {
      std::vector<Value> items;
      items.reserve(n.children.size());
      for (const auto& c : n.children) {
        Value tmp;
        items.push_back(*Eval(*c, ctx, &tmp));
      }
      *scratch = Value::Array(std::move(items));
      return scratch;
    }
    case Op::kLen: {
      Value tmp;
      const Value* v = Eval(*n.children[0], ctx, &tmp);
      int64_t len = v->is_string() ? Utf8Length(v->as_string()) : static_cast<int64_t>(v->size());
      *scratch = Value(len);
      return scratch;
    }
    default:
      return TestNode(n, ctx) ? &kTrue : &kFalse;
  }
}

bool TestNode(const Node& n, const EvalContext& ctx) {
  switch (n.op) {
    case Op::kLiteral:
      return Truthy(n.literal);
    case Op::kPath:
      return Truthy(*Lookup(n, ctx));
    case Op::kNot:
      return !TestNode(*n.children[0], ctx);
    case Op::kAnd:
      return TestNode(*n.children[0], ctx) && TestNode(*n.children[1], ctx);
    case Op::kOr:
      return TestNode(*n.children[0], ctx) || TestNode(*n.children[1], ctx);
    case Op::kExists:
      return !Lookup(*n.children[0], ctx)->is_null();
    case Op::kList:
      return !n.children.empty();
    case Op::kLen: {
      Value tmp;
      return Truthy(*Eval(n, ctx, &tmp));
    }
    default:
      break;
  }
  // Binary operators on values.
  Value sa, sb;
  return Compare(n.op, *Eval(*n.children[0], ctx, &sa), *Eval(*n.children[1], ctx, &sb));
}

bool Compare(Op op, const Value& a, const Value& b) {
  switch (op) {
    case Op::kEq:
      return a == b;
    case Op::kNe:
      return !(a == b);
    case Op::kLt:
      return Order(a, b) == -1;
    case Op::kLe: {
      int o = Order(a, b);
      return o == -1 || o == 0;
    }
    case Op::kGt:
      return Order(a, b) == 1;
    case Op::kGe: {
      int o = Order(a, b);
      return o == 1 || o == 0;
    }
    case Op::kIn:
      return Contains(a, b);
    case Op::kNotIn:
      return !Contains(a, b);
    case Op::kStartsWith:
      return a.is_string() && b.is_string() && a.as_string().starts_with(b.as_string());
    default:
      return false;
  }
}

// --- Three-valued evaluation (static checks) ---------------------------------------------------

using Known = std::function<bool(std::string_view path)>;

std::string PathText(const Node& n) {
  std::string text = n.root == Node::Root::kData   ? "data"
                     : n.root == Node::Root::kVars ? "vars"
                                                   : "application";
  for (const std::string& seg : n.segments) {
    text += '.';
    text += seg;
  }
  return text;
}

Truth PartialTest(const Node& n, const EvalContext& ctx, const Known& known);

// The value, or nullopt when it depends on an unknown path.
std::optional<Value> PartialEval(const Node& n, const EvalContext& ctx, const Known& known) {
  switch (n.op) {
    case Op::kLiteral:
      return n.literal;
    case Op::kPath:
      if (!known(PathText(n))) return std::nullopt;
      return *Lookup(n, ctx);
    case Op::kList: {
      std::vector<Value> items;
      for (const auto& c : n.children) {
        std::optional<Value> v = PartialEval(*c, ctx, known);
        if (!v.has_value()) return std::nullopt;
        items.push_back(std::move(*v));
      }
      return Value::Array(std::move(items));
    }
    case Op::kLen: {
      std::optional<Value> v = PartialEval(*n.children[0], ctx, known);
      if (!v.has_value()) return std::nullopt;
      return Value(v->is_string() ? Utf8Length(v->as_string()) : static_cast<int64_t>(v->size()));
    }
    default: {
      Truth t = PartialTest(n, ctx, known);
      if (t == Truth::kUnknown) return std::nullopt;
      return Value(t == Truth::kTrue);
    }
  }
}

Truth Of(bool b) {
  return b ? Truth::kTrue : Truth::kFalse;
}

Truth PartialTest(const Node& n, const EvalContext& ctx, const Known& known) {
  switch (n.op) {
    case Op::kNot: {
      Truth t = PartialTest(*n.children[0], ctx, known);
      return t == Truth::kUnknown ? t : Of(t == Truth::kFalse);
    }
    case Op::kAnd: {
      Truth a = PartialTest(*n.children[0], ctx, known);
      Truth b = PartialTest(*n.children[1], ctx, known);
      if (a == Truth::kFalse || b == Truth::kFalse) return Truth::kFalse;
      return a == Truth::kTrue && b == Truth::kTrue ? Truth::kTrue : Truth::kUnknown;
    }
    case Op::kOr: {
      Truth a = PartialTest(*n.children[0], ctx, known);
      Truth b = PartialTest(*n.children[1], ctx, known);
      if (a == Truth::kTrue || b == Truth::kTrue) return Truth::kTrue;
      return a == Truth::kFalse && b == Truth::kFalse ? Truth::kFalse : Truth::kUnknown;
    }
    case Op::kExists:
      if (!known(PathText(*n.children[0]))) return Truth::kUnknown;
      return Of(!Lookup(*n.children[0], ctx)->is_null());
    case Op::kList:
      return Of(!n.children.empty());
    case Op::kLiteral:
    case Op::kPath:
    case Op::kLen: {
      std::optional<Value> v = PartialEval(n, ctx, known);
      return v.has_value() ? Of(Truthy(*v)) : Truth::kUnknown;
    }
    default:
      break;
  }
  std::optional<Value> a = PartialEval(*n.children[0], ctx, known);
  std::optional<Value> b = PartialEval(*n.children[1], ctx, known);
  if (!a.has_value() || !b.has_value()) return Truth::kUnknown;
  return Of(Compare(n.op, *a, *b));
}

}  // namespace

Expression::~Expression() = default;

Result<std::shared_ptr<const Expression>> Expression::Parse(std::string_view text) {
  std::vector<Token> tokens;
  std::string error;
  if (!Lexer(text).Scan(&tokens, &error)) return Status::InvalidArgument(error);
  // The constructor is private; make_shared cannot reach it.
  std::shared_ptr<Expression> expr(new Expression());
  expr->text_ = std::string(text);
  Parser parser(std::move(tokens), &expr->paths_);
  expr->root_ = parser.ParseAll();
  if (!expr->root_) return Status::InvalidArgument(parser.error());
  return std::shared_ptr<const Expression>(std::move(expr));
}

Value Expression::Evaluate(const EvalContext& ctx) const {
  Value scratch;
  return *Eval(*root_, ctx, &scratch);
}

bool Expression::Test(const EvalContext& ctx) const {
  return TestNode(*root_, ctx);
}

Truth Expression::TestPartially(const EvalContext& ctx,
                                const std::function<bool(std::string_view path)>& known) const {
  return PartialTest(*root_, ctx, known);
}

}  // namespace amtsweg::dsl
