// `amtsweg keys ...`: the key store of crypto-shredding (engine/crypto) for administrators
// (docs/data-protection.md, section Keys). Errors are one line on stderr, exit code 1
// (kExitFailed).
#pragma once

#include <optional>
#include <string>

#include "engine/crypto/kek.h"

namespace CLI {
class App;
}  // namespace CLI

namespace amtsweg::cli {

// Where a command finds the key store and its KEKs (see crypto::KeyConfig).
struct KeyStoreArgs {
  std::string data_dir;  // the data store; the key store defaults to <data_dir>.keys
  std::string key_dir;   // --key-dir; empty: crypto::DefaultKeyDir(data_dir)
  std::string kek_file;  // --kek-file; empty: AMTSWEG_KEK, AMTSWEG_KEK_FILE, <key_dir>/kek
  bool json = false;     // keys status --json
};

// The KeyConfig `args` mean: the key directory made explicit.
crypto::KeyConfig KeyConfigOf(const KeyStoreArgs& args);

// Prints a new KEK line "<id> <base64>" to stdout (and on stderr how to keep it).
int KeysNewKek(const std::string& id);
// Prints the key store's keys per KEK id, the erased cases and the current KEK (text or JSON).
int KeysStatus(const KeyStoreArgs& args);
// Rewraps every key under the current KEK, with progress lines on stderr and a summary, and
// records it in the access log of the store in `data_dir` (refused, nothing rewrapped, when
// there is no store there or it cannot be opened).
int KeysRotate(const KeyStoreArgs& args);

// Registers `keys new-kek|status|rotate` on `app`, which must outlive this object; after
// app.parse(), Run() runs the one selected, if any. `data_dir` is the default data directory.
// Not copyable: CLI11 keeps pointers into it.
class KeyCommands {
 public:
  KeyCommands(CLI::App& app, const std::string& data_dir);
  KeyCommands(const KeyCommands&) = delete;
  KeyCommands& operator=(const KeyCommands&) = delete;

  // The exit code of the selected keys command, or nullopt when another one was selected.
  std::optional<int> Run() const;

 private:
  std::string kek_id_;
  KeyStoreArgs status_, rotate_;
  CLI::App* new_kek_cmd_ = nullptr;
  CLI::App* status_cmd_ = nullptr;
  CLI::App* rotate_cmd_ = nullptr;
};

}  // namespace amtsweg::cli
