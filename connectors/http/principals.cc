#include "connectors/http/principals.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <set>
#include <sstream>

#include "engine/dsl/yaml_scalar.h"

namespace amtsweg::http {

std::string_view RoleName(Role r) {
  switch (r) {
    case Role::kAdmin:
      return "admin";
    case Role::kAuditor:
      return "auditor";
    case Role::kParticipant:
      return "participant";
  }
  return "unknown";
}

namespace {

Status ErrorAt(const std::string& file, const YAML::Mark& m, const std::string& message) {
  return Status::InvalidArgument(file + ":" + std::to_string(m.line + 1) + ":" +
                                 std::to_string(m.column + 1) + ": " + message);
}

}  // namespace

Result<std::unique_ptr<Principals>> Principals::Parse(std::string_view yaml,
                                                      const std::string& file,
                                                      const dsl::Directory& directory) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return ErrorAt(file, e.mark, e.msg);
  }
  if (root.IsMap()) {
    for (const auto& kv : root) {
      if (kv.first.Scalar() != "principals")
        return ErrorAt(file, kv.first.Mark(),
                       "unknown key '" + kv.first.Scalar() + "'; expected principals");
    }
  }
  YAML::Node list = root.IsMap() ? root["principals"] : root;
  if (!list.IsSequence()) {
    return ErrorAt(file, root.Mark(), "expected a list of principals (or `principals:` with one)");
  }
  auto out = std::make_unique<Principals>();
  std::set<std::string> names;
  std::set<Digest> hashes;
  for (const YAML::Node& entry : list) {
    if (!entry.IsMap()) return ErrorAt(file, entry.Mark(), "a principal is a mapping");
    for (const auto& kv : entry) {
      std::string key = kv.first.Scalar();
      if (key != "name" && key != "role" && key != "organisation" && key != "token_sha256") {
        return ErrorAt(file, kv.first.Mark(), "unknown key '" + key + "'");
      }
      if (!kv.second.IsScalar()) return ErrorAt(file, kv.second.Mark(), key + ": expected text");
      // As the schema (docs/principals.schema.json) and YAML tools read it: `name: 2024` is a
      // number, not text.
      if (dsl::ScalarType t = dsl::ScalarTypeOf(kv.second); t != dsl::ScalarType::kString) {
        return ErrorAt(file, kv.second.Mark(),
                       key + ": expected text, not " + std::string(dsl::ScalarTypeName(t)) +
                           ": quote it (\"" + kv.second.Scalar() + "\")");
      }
    }
    auto text = [&](const char* key) {
      YAML::Node n = entry[key];
      return n && n.IsScalar() ? n.Scalar() : std::string();
    };
    auto mark = [&](const char* key) {
      YAML::Node n = entry[key];
      return n ? n.Mark() : entry.Mark();
    };
    Principal p;
    p.name = text("name");
    if (p.name.empty()) return ErrorAt(file, entry.Mark(), "a principal needs a `name`");
    if (!names.insert(p.name).second) {
      return ErrorAt(file, mark("name"), "duplicate principal '" + p.name + "'");
    }
    std::string role = text("role");
    if (role == "admin") {
      p.role = Role::kAdmin;
    } else if (role == "auditor") {
      p.role = Role::kAuditor;
    } else if (role == "participant") {
      p.role = Role::kParticipant;
    } else {
      return ErrorAt(
          file, mark("role"),
          "role '" + role + "' of '" + p.name + "': expected admin, auditor or participant");
    }
    p.organisation = text("organisation");
    if (p.role == Role::kParticipant) {
      if (p.organisation.empty()) {
        return ErrorAt(file, entry.Mark(), "participant '" + p.name + "' needs an `organisation`");
      }
      if (directory.Find(p.organisation) == nullptr) {
        return ErrorAt(file, mark("organisation"),
                       "organisation '" + p.organisation + "' is not in the directory");
      }
    } else if (!p.organisation.empty()) {
      return ErrorAt(file, mark("organisation"), "only participants have an `organisation`");
    }
    if (!FromHex(text("token_sha256"), &p.token_sha256)) {
      return ErrorAt(file, mark("token_sha256"),
                     "token_sha256 of '" + p.name + "': expected 64 hex digits (`amtsweg token`)");
    }
    if (!hashes.insert(p.token_sha256).second) {
      return ErrorAt(file, mark("token_sha256"), "token of '" + p.name + "' is used twice");
    }
    out->principals_.push_back(std::move(p));
  }
  return out;
}

Result<std::unique_ptr<Principals>> Principals::Load(const std::string& path,
                                                     const dsl::Directory& directory) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::InvalidArgument(path + ": cannot read the principals file");
  std::ostringstream text;
  text << in.rdbuf();
  return Parse(text.str(), path, directory);
}

const Principal* Principals::Authenticate(std::string_view token) const {
  if (token.empty()) return nullptr;
  const Digest presented = Sha256(token);
  const Principal* found = nullptr;
  for (const Principal& p : principals_) {
    // Every entry is compared in full; hashes are unique, so at most one matches.
    bool equal = CRYPTO_memcmp(presented.data(), p.token_sha256.data(), presented.size()) == 0;
    if (equal) found = &p;
  }
  return found;
}

Result<NewToken> GenerateToken() {
  Digest random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    return Status::Internal("the OpenSSL random generator failed");
  }
  NewToken t;
  t.token = ToHex(random);
  t.sha256 = ToHex(Sha256(t.token));
  return t;
}

}  // namespace amtsweg::http
