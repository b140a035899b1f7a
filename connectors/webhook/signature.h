// Signing webhook deliveries the way FIT-Connect signs its callbacks, and the retry schedule.
//
// A delivery carries the headers `callback-timestamp` (Unix seconds, decimal) and
// `callback-authentication`: the lowercase hex HMAC-SHA-512, keyed with the organisation's
// secret, of the timestamp, a "." and the request body (docs/webhooks.md). Thread-safe (pure).
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>

namespace amtsweg::connectors::webhook {

inline constexpr std::string_view kTimestampHeader = "callback-timestamp";
inline constexpr std::string_view kAuthenticationHeader = "callback-authentication";

// hex(HMAC-SHA-512(secret, timestamp + "." + body)), 128 lowercase hex digits.
std::string Sign(std::string_view secret, std::string_view timestamp, std::string_view body);

// Whether `authentication` is the signature of `timestamp` and `body` (constant-time compare).
bool Verify(std::string_view secret, std::string_view timestamp, std::string_view body,
            std::string_view authentication);

// Exponential backoff with jitter: before attempt n + 1 (after n failures) it waits a random
// time in [d/2, d] with d = min(max, initial * 2^(n-1)). Deterministic for a given seed. Not
// thread-safe (it holds the random generator).
class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max, uint64_t seed);
  // The wait after `failures` failed attempts in a row (failures >= 1).
  std::chrono::milliseconds Delay(uint32_t failures);

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  std::mt19937_64 random_;
};

}  // namespace amtsweg::connectors::webhook
