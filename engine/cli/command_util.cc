#include "engine/cli/command_util.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "engine/core/key_store_backup.h"

namespace amtsweg::cli {

Result<OpenedKeys> OpenKeys(const std::string& data_dir, const KeyArgs& args, bool create) {
  OpenedKeys out;
  crypto::KeyConfig config;
  config.key_dir = args.key_dir.empty() ? crypto::DefaultKeyDir(data_dir) : args.key_dir;
  config.kek_file = args.kek_file;
  if (!create && !std::filesystem::exists(config.key_dir)) return out;
  ASSIGN_OR_RETURN(std::unique_ptr<crypto::KeyEncryptionKeys> keks,
                   crypto::ResolveKeks(config, create));
  crypto::KeyStore::Options options;
  options.create_if_missing = create;
  Result<std::unique_ptr<crypto::KeyStore>> opened =
      crypto::KeyStore::Open(config.key_dir, std::move(keks), options);
  if (!opened.ok()) return opened.status().WithContext("key store " + config.key_dir);
  out.store = std::move(opened).value();
  out.keys = std::make_unique<core::CaseKeys>(*out.store);
  return out;
}

std::string LocalAdmin() {
  const char* user = std::getenv("USER");
  return std::string("local:") + (user != nullptr && *user != '\0' ? user : "unknown");
}

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) {
  g_stop.store(true);
}

}  // namespace

int Fail(const Status& s, std::string_view context) {
  std::cerr << "amtsweg: " << context << ": " << s.ToString() << "\n";
  return s.IsInvalidArgument() ? kExitUsage : kExitIO;
}

void InstallStopSignals() {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
}

bool StopRequested() {
  return g_stop.load();
}

Result<std::unique_ptr<http::Principals>> LoadApi(const ApiArgs& api,
                                                  const dsl::Directory& directory,
                                                  http::ApiOptions* options) {
  if (api.principals.empty()) return Status::InvalidArgument("--listen needs --principals FILE");
  RETURN_IF_ERROR(http::ParseListen(api.listen, options));
  options->threads = api.threads;
  options->max_body_bytes = api.max_body_bytes;
  options->max_connections = api.max_connections;
  options->max_connections_per_client = api.max_connections_per_client;
  options->tls_cert_file = api.tls_cert;
  options->tls_key_file = api.tls_key;
  options->tls_client_ca_file = api.tls_client_ca;
  options->backup_dir = api.backup_dir;
  while (options->backup_dir.size() > 1 && options->backup_dir.back() == '/')
    options->backup_dir.pop_back();
  ASSIGN_OR_RETURN(options->key_retention_ms, core::ParseKeyRetention(api.key_retention));
  RETURN_IF_ERROR(http::CheckTls(*options));
  return http::Principals::Load(api.principals, directory);
}

Result<connectors::KafkaProperties> ParseProperties(const std::vector<std::string>& specs) {
  connectors::KafkaProperties out;
  for (const std::string& spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Status::InvalidArgument("-X '" + spec + "': expected NAME=VALUE");
    }
    out.emplace_back(spec.substr(0, eq), spec.substr(eq + 1));
  }
  return out;
}

}  // namespace amtsweg::cli
