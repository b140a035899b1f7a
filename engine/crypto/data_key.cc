// AES-256-GCM through OpenSSL EVP; nothing here is hand-written cryptography.
#include "engine/crypto/data_key.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <memory>

namespace amtsweg::crypto {
namespace {

// A failure of OpenSSL where no error can be returned (Generate, Seal): there is no safe way on.
[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "amtsweg: OpenSSL failed: %s\n", what);
  std::abort();
}

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* U(const char* p) {
  return reinterpret_cast<const unsigned char*>(p);
}
unsigned char* U(char* p) {
  return reinterpret_cast<unsigned char*>(p);
}

// EVP takes int lengths: longer inputs go in pieces.
constexpr size_t kChunk = size_t{1} << 30;

}  // namespace

DataKey DataKey::Generate() {
  DataKey key;
  if (RAND_bytes(U(key.bytes_.data()), static_cast<int>(key.bytes_.size())) != 1) {
    Die("RAND_bytes for a data key");
  }
  return key;
}

Result<DataKey> DataKey::FromBytes(std::string_view bytes) {
  if (bytes.size() != kBytes) {
    return Status::InvalidArgument("a data key has 32 bytes, not " + std::to_string(bytes.size()));
  }
  DataKey key;
  bytes.copy(key.bytes_.data(), kBytes);
  return key;
}

DataKey& DataKey::operator=(const DataKey& other) = default;

DataKey::~DataKey() {
  OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

bool operator==(const DataKey& a, const DataKey& b) {
  return CRYPTO_memcmp(a.bytes_.data(), b.bytes_.data(), DataKey::kBytes) == 0;
}

void Seal(const DataKey& key, std::string_view aad, std::string_view plaintext, std::string* out) {
  const size_t start = out->size();
  out->resize(start + kNonceBytes + plaintext.size() + kTagBytes);
  char* nonce = out->data() + start;
  char* cipher = nonce + kNonceBytes;
  if (RAND_bytes(U(nonce), static_cast<int>(kNonceBytes)) != 1) Die("RAND_bytes for a nonce");

  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) Die("EVP_CIPHER_CTX_new");
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key.bytes().data()), U(nonce)) !=
      1) {
    Die("EVP_EncryptInit_ex");
  }
  int n = 0;
  for (size_t i = 0; i < aad.size(); i += kChunk) {
    const size_t len = std::min(kChunk, aad.size() - i);
    if (EVP_EncryptUpdate(ctx.get(), nullptr, &n, U(aad.data() + i), static_cast<int>(len)) != 1) {
      Die("EVP_EncryptUpdate (aad)");
    }
  }
  size_t written = 0;
  for (size_t i = 0; i < plaintext.size(); i += kChunk) {
    const size_t len = std::min(kChunk, plaintext.size() - i);
    if (EVP_EncryptUpdate(ctx.get(), U(cipher + written), &n, U(plaintext.data() + i),
                          static_cast<int>(len)) != 1) {
      Die("EVP_EncryptUpdate");
    }
    written += static_cast<size_t>(n);
  }
  if (EVP_EncryptFinal_ex(ctx.get(), U(cipher + written), &n) != 1) Die("EVP_EncryptFinal_ex");
  written += static_cast<size_t>(n);
  if (written != plaintext.size()) Die("GCM wrote an unexpected length");
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          cipher + written) != 1) {
    Die("EVP_CTRL_GCM_GET_TAG");
  }
}

Result<std::string> Open(const DataKey& key, std::string_view aad, std::string_view sealed) {
  if (sealed.size() < kSealOverhead) {
    return Status::Corruption("sealed data of " + std::to_string(sealed.size()) +
                              " bytes is shorter than nonce and tag (28 bytes)");
  }
  const std::string_view nonce = sealed.substr(0, kNonceBytes);
  const std::string_view cipher = sealed.substr(kNonceBytes, sealed.size() - kSealOverhead);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));  // EVP wants a writable pointer

  Ctx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) return Status::Internal("EVP_CIPHER_CTX_new failed");
  if (EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, U(key.bytes().data()),
                         U(nonce.data())) != 1) {
    return Status::Internal("EVP_DecryptInit_ex failed");
  }
  int n = 0;
  for (size_t i = 0; i < aad.size(); i += kChunk) {
    const size_t len = std::min(kChunk, aad.size() - i);
    if (EVP_DecryptUpdate(ctx.get(), nullptr, &n, U(aad.data() + i), static_cast<int>(len)) != 1) {
      return Status::Internal("EVP_DecryptUpdate (aad) failed");
    }
  }
  std::string plain(cipher.size(), '\0');
  size_t written = 0;
  for (size_t i = 0; i < cipher.size(); i += kChunk) {
    const size_t len = std::min(kChunk, cipher.size() - i);
    if (EVP_DecryptUpdate(ctx.get(), U(plain.data() + written), &n, U(cipher.data() + i),
                          static_cast<int>(len)) != 1) {
      return Status::Internal("EVP_DecryptUpdate failed");
    }
    written += static_cast<size_t>(n);
  }
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes),
                          tag.data()) != 1) {
    return Status::Internal("EVP_CTRL_GCM_SET_TAG failed");
  }
  // The tag is checked here; until it is, the plaintext is unauthenticated and must not leave.
  if (EVP_DecryptFinal_ex(ctx.get(), U(plain.data() + written), &n) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return Status::Corruption(
        "sealed data does not authenticate (wrong key, wrong context or "
        "changed bytes)");
  }
  return plain;
}

}  // namespace amtsweg::crypto
