// libFuzzer target: DecodeCloudEvent on arbitrary bytes. When an event decodes, its data must
// survive the binary encoding unchanged (AppendBinary, then DecodeBinary consuming every byte).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "engine/common/value.h"
#include "engine/core/cloudevent.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  auto event = amtsweg::core::DecodeCloudEvent(json);
  if (!event.ok()) return 0;

  const amtsweg::Value& value = event->data;
  std::string encoded;
  value.AppendBinary(&encoded);
  std::string_view in(encoded);
  auto decoded = amtsweg::Value::DecodeBinary(&in);
  if (!decoded.ok()) {
    std::fprintf(stderr, "binary round trip: decoding failed: %s\n",
                 decoded.status().ToString().c_str());
    std::abort();
  }
  if (!in.empty()) {
    std::fprintf(stderr, "binary round trip: %zu bytes left over\n", in.size());
    std::abort();
  }
  if (!(*decoded == value)) {
    std::fprintf(stderr, "binary round trip: value changed\n  before: %s\n  after:  %s\n",
                 value.ToJson().c_str(), decoded->ToJson().c_str());
    std::abort();
  }
  return 0;
}
