#include "engine/cli/key_commands.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

#include "engine/cli/command_util.h"
#include "engine/cli/commands.h"
#include "engine/common/value.h"
#include "engine/crypto/key_store.h"
#include "engine/store/store.h"

namespace amtsweg::cli {
namespace {

int KeysFailed(std::string_view command, const Status& s) {
  std::cerr << "amtsweg keys " << command << ": " << s.ToString() << "\n";
  return kExitFailed;
}

// Opens an existing key store; never creates one, nor a KEK.
Result<std::unique_ptr<crypto::KeyStore>> OpenExisting(const KeyStoreArgs& args) {
  const crypto::KeyConfig config = KeyConfigOf(args);
  ASSIGN_OR_RETURN(std::unique_ptr<crypto::KeyEncryptionKeys> keks,
                   crypto::ResolveKeks(config, /*create=*/false));
  crypto::KeyStore::Options options;
  options.create_if_missing = false;
  options.cache_entries = 0;  // each key is read once at most
  return crypto::KeyStore::Open(config.key_dir, std::move(keks), std::move(options));
}

// The data store beside the key store, for the audit trail of a key operation. NotFound naming
// --data-dir when there is none; Unavailable when an engine has it open.
Result<std::unique_ptr<store::Store>> OpenAuditLog(const std::string& data_dir) {
  if (!std::filesystem::exists(data_dir + "/CURRENT")) {
    return Status::NotFound("no amtsweg store in '" + data_dir +
                            "', whose access log records the rotation: give its --data-dir");
  }
  store::Options options;
  options.create_if_missing = false;
  Result<std::unique_ptr<store::Store>> st = store::Store::Open(data_dir, options);
  if (!st.ok()) return st.status().WithContext("the store " + data_dir);
  return st;
}

// One access record of a local administrator's key operation.
Status Record(store::Store& st, const std::string& path, int status) {
  store::AccessRecord r;
  r.at = std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count();
  r.principal = LocalAdmin();
  r.role = "admin";
  r.method = "CLI";
  r.path = path;
  r.status = status;
  return st.AppendAccess(r).status();
}

int Flushed() {
  std::cout.flush();
  return std::cout ? kExitOk : kExitIO;
}

void AddStoreOptions(CLI::App* cmd, KeyStoreArgs* args) {
  cmd->add_option("--data-dir", args->data_dir,
                  "Store directory; the key store defaults to DATA-DIR.keys")
      ->capture_default_str();
  cmd->add_option("--key-dir", args->key_dir, "Key store directory (default DATA-DIR.keys)");
  cmd->add_option("--kek-file", args->kek_file,
                  "Key file of the KEKs (default: env AMTSWEG_KEK, AMTSWEG_KEK_FILE, KEY-DIR/kek)");
}

}  // namespace

crypto::KeyConfig KeyConfigOf(const KeyStoreArgs& args) {
  crypto::KeyConfig config;
  config.key_dir = args.key_dir.empty() ? crypto::DefaultKeyDir(args.data_dir) : args.key_dir;
  config.kek_file = args.kek_file;
  return config;
}

int KeysNewKek(const std::string& id) {
  if (Status s = crypto::ValidateKekId(id); !s.ok()) return KeysFailed("new-kek", s);
  std::cout << crypto::NewKekLine(id) << "\n";
  std::cerr << "amtsweg keys new-kek: a new KEK '" << id
            << "'. Put it first in the key file to make it the current one (keep the old lines "
               "until `amtsweg keys rotate` is done); keep the file mode 0600 and out of backups "
               "of the key store.\n";
  return Flushed();
}

int KeysStatus(const KeyStoreArgs& args) {
  Result<std::unique_ptr<crypto::KeyStore>> store = OpenExisting(args);
  if (!store.ok()) return KeysFailed("status", store.status());
  Result<crypto::KeyStore::Stats> stats = (*store)->GetStats();
  if (!stats.ok()) return KeysFailed("status", stats.status());
  const std::string current = (*store)->keks().current_id();
  if (args.json) {
    std::vector<Member> by_kek;
    for (const auto& [id, n] : stats->keys_by_kek)
      by_kek.emplace_back(id, static_cast<int64_t>(n));
    std::cout << ObjectBuilder()
                     .Add("key_dir", (*store)->dir())
                     .Add("keks_from", (*store)->keks().where())
                     .Add("current_kek", current)
                     .Add("keys", static_cast<int64_t>(stats->keys))
                     .Add("keys_by_kek", Value::Object(std::move(by_kek)))
                     .Add("erased", static_cast<int64_t>(stats->erased))
                     .Build()
                     .ToJson()
              << "\n";
    return Flushed();
  }
  std::cout << "key store    " << (*store)->dir() << "\n"
            << "KEKs from    " << (*store)->keks().where() << "\n"
            << "current KEK  " << current << "\n"
            << "keys         " << stats->keys << "\n";
  for (const auto& [id, n] : stats->keys_by_kek) {
    std::cout << "  under " << id << "  " << n << (id == current ? "" : "  (needs keys rotate)")
              << "\n";
  }
  std::cout << "erased cases " << stats->erased << "\n";
  return Flushed();
}

int KeysRotate(const KeyStoreArgs& args) {
  Result<std::unique_ptr<crypto::KeyStore>> store = OpenExisting(args);
  if (!store.ok()) return KeysFailed("rotate", store.status());
  // The audit trail is the data store's access log: it must open before anything is rewrapped.
  Result<std::unique_ptr<store::Store>> data = OpenAuditLog(args.data_dir);
  if (!data.ok()) return KeysFailed("rotate", data.status());
  const std::string current = (*store)->keks().current_id();
  const std::string path = "keys rotate --key-dir " + (*store)->dir() + " (KEK " + current + ")";
  Result<uint64_t> rotated = (*store)->Rotate([](uint64_t done, uint64_t total) {
    std::cerr << "rewrapped " << done << " of " << total << " keys\n";
  });
  if (!rotated.ok()) {
    Record(**data, path, 1).IgnoreError();  // the failure is what the user needs to see
    return KeysFailed("rotate", rotated.status());
  }
  if (Status s = Record(**data, path, 0); !s.ok()) {
    return KeysFailed("rotate", s.WithContext("rewrapped " + std::to_string(*rotated) +
                                              " keys, but recording it in the access log"));
  }
  Result<crypto::KeyStore::Stats> stats = (*store)->GetStats();
  if (!stats.ok()) return KeysFailed("rotate", stats.status());
  std::cout << "rewrapped " << *rotated << " keys; all " << stats->keys
            << " keys are under the KEK '" << current << "'";
  if (*rotated > 0) std::cout << "; older KEK lines may now be removed from the key file";
  std::cout << "\n";
  return Flushed();
}

KeyCommands::KeyCommands(CLI::App& app, const std::string& data_dir) {
  CLI::App* keys = app.add_subcommand(
      "keys",
      "The key store of crypto-shredding: KEKs, status, rotation (docs/data-protection.md)");
  keys->require_subcommand(1);
  new_kek_cmd_ = keys->add_subcommand("new-kek", "Print a new KEK line to append to a key file");
  new_kek_cmd_->add_option("--id", kek_id_, "The KEK's id, [A-Za-z0-9._-]{1,64}")->required();

  status_.data_dir = data_dir;
  status_cmd_ = keys->add_subcommand("status", "Keys per KEK, erased cases, the current KEK");
  AddStoreOptions(status_cmd_, &status_);
  status_cmd_->add_flag("--json", status_.json, "One JSON object instead of text");

  rotate_.data_dir = data_dir;
  rotate_cmd_ = keys->add_subcommand(
      "rotate", "Rewrap every key under the current KEK (the first line of the key file)");
  AddStoreOptions(rotate_cmd_, &rotate_);
}

std::optional<int> KeyCommands::Run() const {
  if (*new_kek_cmd_) return KeysNewKek(kek_id_);
  if (*status_cmd_) return KeysStatus(status_);
  if (*rotate_cmd_) return KeysRotate(rotate_);
  return std::nullopt;
}

}  // namespace amtsweg::cli
