// SHA-256 for the per-case hash chain (OpenSSL).
// Thread-safe: each thread uses its own digest context.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace amtsweg {

using Digest = std::array<uint8_t, 32>;

// SHA-256 over the concatenation of `a` and `b`.
Digest Sha256(std::string_view a, std::string_view b = {});
// Chain link: SHA-256(previous digest || encoded event).
Digest ChainHash(const Digest& previous, std::string_view encoded_event);

std::string ToHex(const Digest& d);
// Parses 64 hex digits; returns false on anything else.
bool FromHex(std::string_view hex, Digest* out);

// The chain's start: 32 zero bytes.
inline constexpr Digest kGenesisDigest{};

}  // namespace amtsweg
