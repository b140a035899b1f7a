#include "engine/dsl/yaml_scalar.h"

#include <regex>

namespace amtsweg::dsl {

ScalarType PlainScalarType(std::string_view text) {
  // YAML 1.2.2, 10.3.2 (core schema), tag resolution.
  static const std::regex kNull("null|Null|NULL|~|");
  static const std::regex kBool("true|True|TRUE|false|False|FALSE");
  static const std::regex kInt("[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+");
  static const std::regex kFloat(
      "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\\.(inf|Inf|INF)|"
      "\\.(nan|NaN|NAN)");
  const std::string s(text);
  if (std::regex_match(s, kNull)) return ScalarType::kNull;
  if (std::regex_match(s, kBool)) return ScalarType::kBool;
  if (std::regex_match(s, kInt)) return ScalarType::kInt;
  if (std::regex_match(s, kFloat)) return ScalarType::kFloat;
  return ScalarType::kString;
}

ScalarType ScalarTypeOf(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return ScalarType::kNull;
  // yaml-cpp tags a plain scalar "?"; a quoted or block scalar "!" (an explicit tag, `!!str`, is
  // taken as a string too).
  if (!node.IsScalar() || node.Tag() != "?") return ScalarType::kString;
  return PlainScalarType(node.Scalar());
}

std::string_view ScalarTypeName(ScalarType type) {
  switch (type) {
    case ScalarType::kNull:
      return "null";
    case ScalarType::kBool:
      return "true or false";
    case ScalarType::kInt:
    case ScalarType::kFloat:
      return "a number";
    case ScalarType::kString:
      return "a string";
  }
  return "a string";
}

}  // namespace amtsweg::dsl
