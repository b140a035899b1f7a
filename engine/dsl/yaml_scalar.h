// How amtsweg's YAML files (workflow definitions, the directory, the principals file) type their
// scalars: by the YAML 1.2 core schema, as the YAML language server and the JSON Schemas in docs/
// see them. yaml-cpp gives every scalar as text; this says what a plain (unquoted) one is, so
// that the loaders refuse `title: 2024` where the schema wants a string and `version: "1"` where
// it wants an integer, as the schema does. Pure functions; thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string_view>

namespace amtsweg::dsl {

enum class ScalarType { kNull, kBool, kInt, kFloat, kString };

// The type of a plain scalar's text: null (`null`, `Null`, `NULL`, `~`, empty), bool (`true`,
// `True`, `TRUE`, `false`, ...), int (`[-+]?[0-9]+`, `0o[0-7]+`, `0x[0-9a-fA-F]+`), float
// (`1.5`, `1e3`, `.inf`, `.nan`, ...), otherwise string.
ScalarType PlainScalarType(std::string_view text);

// The type of a node: kString for a quoted or block scalar, PlainScalarType for a plain one,
// kNull for a null node. Maps and sequences are neither: kString is never returned for them, the
// caller checks IsScalar() first.
ScalarType ScalarTypeOf(const YAML::Node& node);

// "a number", "true or false", "null", "a string": for messages.
std::string_view ScalarTypeName(ScalarType type);

}  // namespace amtsweg::dsl
