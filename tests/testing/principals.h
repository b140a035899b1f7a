// A principals file for API tests: each principal with its token's SHA-256, as `amtsweg token`
// writes them (connectors/http/principals.h). Header-only.
#pragma once

#include <initializer_list>
#include <string>

#include "engine/common/hash.h"

namespace amtsweg::testing {

struct TestPrincipal {
  std::string name;
  std::string role;          // admin | auditor | participant
  std::string organisation;  // participants only
  std::string token;
};

inline std::string PrincipalsYaml(std::initializer_list<TestPrincipal> principals) {
  std::string out = "principals:\n";
  for (const TestPrincipal& p : principals) {
    out += "  - {name: " + p.name + ", role: " + p.role +
           (p.organisation.empty() ? "" : ", organisation: " + p.organisation) +
           ", token_sha256: " + ToHex(Sha256(p.token)) + "}\n";
  }
  return out;
}

}  // namespace amtsweg::testing
