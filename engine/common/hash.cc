#include "engine/common/hash.h"

#include <openssl/evp.h>

#include <memory>

namespace amtsweg {

namespace {

// The SHA-256 implementation, fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up
// again on every EVP_DigestInit_ex, which showed in the commit path's profile.
const EVP_MD* Sha256Md() {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}

}  // namespace

Digest Sha256(std::string_view a, std::string_view b) {
  // One context per thread, reset by each EVP_DigestInit_ex.
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           EVP_MD_CTX_free);
  Digest out{};
  unsigned int len = 0;
  EVP_DigestInit_ex(ctx.get(), Sha256Md(), nullptr);
  EVP_DigestUpdate(ctx.get(), a.data(), a.size());
  if (!b.empty()) EVP_DigestUpdate(ctx.get(), b.data(), b.size());
  EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
  return out;
}

Digest ChainHash(const Digest& previous, std::string_view encoded_event) {
  return Sha256(std::string_view(reinterpret_cast<const char*>(previous.data()), previous.size()),
                encoded_event);
}

std::string ToHex(const Digest& d) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (uint8_t b : d) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

bool FromHex(std::string_view hex, Digest* out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return true;
}

}  // namespace amtsweg
