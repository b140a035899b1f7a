// `amtsweg backup create|list|verify|restore`: backups of a stopped engine's store, and of its
// key store `<data-dir>.keys` apart, on RocksDB's BackupEngine (engine/store/internal/backup.h,
// docs/data-protection.md). Every backup and restore is recorded in the store's access
// log (principal "local:$USER", role admin, method CLI). Exit codes as in commands.h: 1 for a
// backup that does not verify.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace CLI {
class App;
}  // namespace CLI

namespace amtsweg::cli {

// Backs up the store in `data_dir` to `to`; when `<data_dir>.keys` exists, the key store too, to
// `keys_to` (default `<to>.keys`), then deletes key-store backups older than `key_retention`
// (ISO 8601 days, "P7D"), keeping at least the newest. The store must not be open elsewhere.
struct BackupCreateArgs {
  std::string data_dir;
  std::string to;
  std::string keys_to;
  std::string key_retention = "P7D";
  bool quiet = false;
};
int BackupCreate(const BackupCreateArgs& args);

// Lists the backups in `from`: a table, or JSON lines with `json`.
struct BackupListArgs {
  std::string from;
  bool json = false;
};
int BackupList(const BackupListArgs& args);

// Verifies backup `id` (0: the newest) in `from`: every file's checksum, then a restore into a
// temporary directory (under TMPDIR) and, for a store, every case's chain; the copy is removed.
struct BackupVerifyArgs {
  std::string from;
  uint32_t id = 0;
  bool quiet = false;
};
int BackupVerify(const BackupVerifyArgs& args);

// Restores backup `id` (0: the newest) in `from` into `data_dir` (must not exist or be empty;
// `force` replaces a store no process has open). With `keys_from`, the newest key-store backup
// there is restored into `<data_dir>.keys` only when that does not exist; an existing key store
// is kept.
struct BackupRestoreArgs {
  std::string from;
  uint32_t id = 0;
  std::string data_dir;
  bool force = false;
  std::string keys_from;
  bool quiet = false;
};
int BackupRestore(const BackupRestoreArgs& args);

// Registers `backup` and its subcommands on `app`, which must outlive this object; after
// app.parse(), Run() runs the one selected, if any. `data_dir` is the default store directory.
// Not copyable: CLI11 keeps pointers into it.
class BackupCommands {
 public:
  BackupCommands(CLI::App& app, const std::string& data_dir);
  BackupCommands(const BackupCommands&) = delete;
  BackupCommands& operator=(const BackupCommands&) = delete;

  // The exit code of the selected backup command, or nullopt when another one was selected.
  std::optional<int> Run() const;

 private:
  BackupCreateArgs create_;
  BackupListArgs list_;
  BackupVerifyArgs verify_;
  BackupRestoreArgs restore_;
  CLI::App* create_cmd_ = nullptr;
  CLI::App* list_cmd_ = nullptr;
  CLI::App* verify_cmd_ = nullptr;
  CLI::App* restore_cmd_ = nullptr;
};

}  // namespace amtsweg::cli
