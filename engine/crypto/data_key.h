// Per-case data keys (DEKs) and authenticated encryption with them: AES-256-GCM (OpenSSL EVP).
//
// Crypto-shredding: the personal data of a case's events is stored sealed with the case's own
// DataKey; destroying the key (KeyStore::Destroy) makes that data unreadable without rewriting the
// immutable event log. Thread-safety: DataKey is a plain value; Seal and Open are pure and may be
// called from any thread.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "engine/common/status.h"

namespace amtsweg::crypto {

// A 256-bit AES key. The bytes are wiped (OPENSSL_cleanse) when the object goes. Copyable, since
// a copy of a key means something (caches hold copies); every copy wipes its own bytes.
class DataKey {
 public:
  static constexpr size_t kBytes = 32;

  // A fresh key from OpenSSL's CSPRNG (RAND_bytes). Aborts when the CSPRNG fails: no key can be
  // made safely then, and a caller could do nothing better.
  static DataKey Generate();
  // A key from exactly 32 bytes; InvalidArgument naming the length otherwise.
  static Result<DataKey> FromBytes(std::string_view bytes);

  DataKey(const DataKey& other) = default;
  DataKey& operator=(const DataKey& other);
  ~DataKey();

  // The raw key bytes (kBytes), valid while this object lives. Never log or store them unwrapped.
  std::string_view bytes() const { return {bytes_.data(), bytes_.size()}; }

  // Constant-time comparison (CRYPTO_memcmp).
  friend bool operator==(const DataKey& a, const DataKey& b);

 private:
  DataKey() = default;
  std::array<char, kBytes> bytes_{};
};

inline constexpr size_t kNonceBytes = 12;
inline constexpr size_t kTagBytes = 16;
inline constexpr size_t kSealOverhead = kNonceBytes + kTagBytes;  // 28

// AES-256-GCM with a fresh random 96-bit nonce: appends nonce || ciphertext || tag
// (plaintext.size() + kSealOverhead bytes) to *out. `aad` is authenticated, not stored: Open must
// be given the same. Random nonces are safe for up to 2^32 seals per key (NIST SP 800-38D);
// a case's key seals far fewer. Aborts when OpenSSL fails (out of memory, no entropy).
void Seal(const DataKey& key, std::string_view aad, std::string_view plaintext, std::string* out);

// Opens what Seal made. Corruption when `sealed` is shorter than kSealOverhead or does not
// authenticate (wrong key, wrong aad, changed bytes); no plaintext is returned then.
Result<std::string> Open(const DataKey& key, std::string_view aad, std::string_view sealed);

}  // namespace amtsweg::crypto
