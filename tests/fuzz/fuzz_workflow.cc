// libFuzzer target: LoadDefinition on arbitrary bytes as YAML. Any input must either load or
// produce diagnostics, without crashing, leaking or undefined behaviour.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/dsl/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto result = amtsweg::dsl::LoadDefinition(yaml, "fuzz.yaml");
  static_cast<void>(result);
  return 0;
}
