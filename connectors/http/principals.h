// Who may use the HTTP API: principals with a role, authenticated by a bearer token.
//
// The principals file (YAML) lists entries
//   - {name: ..., role: admin|auditor|participant, organisation: <directory id>,
//      token_sha256: <64 hex digits>}
// (`organisation` for participants only), either as a top-level list or under `principals:`.
// Only the SHA-256 of each token is stored; `amtsweg token` makes a new token and its line.
// Immutable after loading; thread-safe for reads.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/hash.h"
#include "engine/common/status.h"
#include "engine/dsl/directory.h"

namespace amtsweg::http {

enum class Role { kAdmin, kAuditor, kParticipant };
std::string_view RoleName(Role r);  // "admin", "auditor", "participant"

struct Principal {
  std::string name;
  Role role = Role::kAuditor;
  std::string organisation;  // participants: the organisation whose cases it may see
  Digest token_sha256{};
};

class Principals {
 public:
  // Parses and checks a principals file: known roles, participants bound to an organisation of
  // `directory`, unique names and token hashes. InvalidArgument naming "file:line:column".
  static Result<std::unique_ptr<Principals>> Parse(std::string_view yaml, const std::string& file,
                                                   const dsl::Directory& directory);
  static Result<std::unique_ptr<Principals>> Load(const std::string& path,
                                                  const dsl::Directory& directory);

  // The principal whose token hash equals SHA-256(token), or nullptr. Compares with every
  // entry in constant time (no early exit), so timing tells nothing about the stored hashes.
  const Principal* Authenticate(std::string_view token) const;

  const std::vector<Principal>& all() const { return principals_; }

 private:
  std::vector<Principal> principals_;
};

// A new random token (32 bytes from the OpenSSL CSPRNG, hex) and SHA-256 of it, in hex.
struct NewToken {
  std::string token;
  std::string sha256;
};
Result<NewToken> GenerateToken();

}  // namespace amtsweg::http
