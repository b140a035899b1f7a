// What the commands of engine/cli share (internal to the cli; not a contract for other modules):
// the exit code of a failure, the stop signals, progress pacing, the HTTP API's principals and
// librdkafka properties from the command line.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/api_server.h"
#include "connectors/http/principals.h"
#include "connectors/kafka/kafka_config.h"
#include "engine/cli/commands.h"
#include "engine/common/status.h"
#include "engine/core/case_keys.h"
#include "engine/crypto/kek.h"
#include "engine/crypto/key_store.h"
#include "engine/dsl/directory.h"

namespace amtsweg::cli {

// Prints "amtsweg: <context>: <status>" to stderr; kExitUsage for InvalidArgument, else kExitIO.
int Fail(const Status& s, std::string_view context);

// SIGINT and SIGTERM ask the process to stop (StopRequested); installed once per command.
void InstallStopSignals();
bool StopRequested();

// Paces progress lines on stderr.
struct Progress {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last = start;
  bool enabled = true;

  double Elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  // At most once a second.
  bool Due() {
    if (!enabled) return false;
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(1)) return false;
    last = now;
    return true;
  }
};

// The cases' data keys beside a store (crypto::KeyConfig; docs/data-protection.md).
struct OpenedKeys {
  std::unique_ptr<crypto::KeyStore> store;
  std::unique_ptr<core::CaseKeys> keys;
  core::CaseKeys* get() const { return keys.get(); }
};
// Opens the key store of `data_dir` (KeyArgs: --key-dir, --kek-file; the environment and the
// defaults otherwise). With `create`, creates it (and a default KEK file) when missing; without,
// a missing key store gives empty OpenedKeys (a store written without encryption).
Result<OpenedKeys> OpenKeys(const std::string& data_dir, const KeyArgs& args, bool create);

// Who runs a local administrative command, for the audit trail: "local:<user>".
std::string LocalAdmin();

// Loads the principals of the HTTP API and fills `*options` from `api`.
Result<std::unique_ptr<http::Principals>> LoadApi(const ApiArgs& api,
                                                  const dsl::Directory& directory,
                                                  http::ApiOptions* options);

// "name=value" -> {name, value}; InvalidArgument naming a spec without a name.
Result<connectors::KafkaProperties> ParseProperties(const std::vector<std::string>& specs);

}  // namespace amtsweg::cli
