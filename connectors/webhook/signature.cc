#include "connectors/webhook/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>

namespace amtsweg::connectors::webhook {

std::string Sign(std::string_view secret, std::string_view timestamp, std::string_view body) {
  std::string message;
  message.reserve(timestamp.size() + 1 + body.size());
  message.append(timestamp).append(".").append(body);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha512(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(size_t{2} * len);
  for (unsigned int i = 0; i < len; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xf]);
  }
  return hex;
}

bool Verify(std::string_view secret, std::string_view timestamp, std::string_view body,
            std::string_view authentication) {
  std::string expected = Sign(secret, timestamp, body);
  if (authentication.size() != expected.size()) return false;
  return CRYPTO_memcmp(expected.data(), authentication.data(), expected.size()) == 0;
}

Backoff::Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed)
    : initial_(std::max(initial, std::chrono::milliseconds(1))),
      max_(std::max(max, initial_)),
      random_(seed) {}

std::chrono::milliseconds Backoff::Delay(uint32_t failures) {
  int64_t d = initial_.count();
  for (uint32_t i = 1; i < failures && d < max_.count(); ++i)
    d *= 2;
  d = std::min(d, static_cast<int64_t>(max_.count()));
  std::uniform_int_distribution<int64_t> jitter(d / 2, d);
  return std::chrono::milliseconds(jitter(random_));
}

}  // namespace amtsweg::connectors::webhook
