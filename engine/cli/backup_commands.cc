#include "engine/cli/backup_commands.h"

#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <system_error>

#include "engine/cli/command_util.h"
#include "engine/cli/commands.h"
#include "engine/cli/output.h"
#include "engine/common/time.h"
#include "engine/common/value.h"
#include "engine/core/key_store_backup.h"
#include "engine/store/internal/backup.h"
#include "engine/store/store.h"

namespace amtsweg::cli {
namespace {

namespace fs = std::filesystem;
using store::BackupInfo;
using store::BackupProgress;

std::string Normalise(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/')
    dir.pop_back();
  return dir;
}

Timestamp Now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return buf;
}

std::string Secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", s);
  return buf;
}

// "amtsweg backup <command>: <what went wrong>"; exit 1 for a backup that does not verify,
// else as Fail (2 for bad arguments, 3 for store and I/O errors).
int Failed(std::string_view command, const Status& s) {
  const int code = Fail(s, "backup " + std::string(command));
  return s.IsCorruption() ? kExitFailed : code;
}

std::string Principal() {
  const char* user = std::getenv("USER");
  return user != nullptr && *user != '\0' ? std::string("local:") + user : "local";
}

// The audit trail: one access record per backup operation, in the store it concerns.
Status Record(store::Store& st, const std::string& path, int status) {
  store::AccessRecord r;
  r.at = Now();
  r.principal = Principal();
  r.role = "admin";
  r.method = "CLI";
  r.path = path;
  r.status = status;
  return st.AppendAccess(r).status();
}

// Progress lines on stderr, at most once a second; the caller ends them with Finish().
class ProgressLines {
 public:
  ProgressLines(std::string what, bool quiet) : what_(std::move(what)) {
    progress_.enabled = !quiet;
    tty_ = isatty(STDERR_FILENO) != 0;
  }
  store::BackupProgressFn Fn() {
    if (!progress_.enabled) return {};
    return [this](const BackupProgress& p) {
      if (p.bytes_done < p.bytes_total && !progress_.Due()) return;
      const double pct = p.bytes_total == 0 ? 100.0
                                            : 100.0 * static_cast<double>(p.bytes_done) /
                                                  static_cast<double>(p.bytes_total);
      std::fprintf(stderr, "%s%s: %s of %s (%.0f%%)%s", tty_ ? "\r" : "", what_.c_str(),
                   Mib(p.bytes_done).c_str(), Mib(p.bytes_total).c_str(), pct, tty_ ? "" : "\n");
      printed_ = true;
    };
  }
  void Finish() {
    if (printed_ && tty_) std::fprintf(stderr, "\n");
    printed_ = false;
  }
  double Elapsed() const { return progress_.Elapsed(); }

 private:
  std::string what_;
  Progress progress_;
  bool tty_ = false;
  bool printed_ = false;
};

constexpr std::string_view kInUse =
    "is in use by a running engine: back it up through the running server's admin API (POST "
    "/api/v1/admin/backups) or stop the engine first";

// The store in `data_dir`, checked and opened for a backup operation.
Result<std::unique_ptr<store::Store>> OpenForBackup(const std::string& data_dir) {
  if (!fs::exists(data_dir + "/CURRENT")) {
    return Status::NotFound("no amtsweg store in '" + data_dir + "'");
  }
  if (!store::backup::CheckNotInUse(data_dir).ok()) {
    return Status::Unavailable("the store " + data_dir + " " + std::string(kInUse));
  }
  store::Options options;
  options.create_if_missing = false;
  return store::Store::Open(data_dir, options);
}

Value MetadataValue(const std::string& metadata) {
  Result<Value> v = Value::ParseJson(metadata);
  if (v.ok()) return *v;
  return Value(metadata);
}

}  // namespace

int BackupCreate(const BackupCreateArgs& args) {
  const std::string data_dir = Normalise(args.data_dir);
  const std::string to = Normalise(args.to);
  const std::string keys_dir = data_dir + ".keys";
  const std::string keys_to = args.keys_to.empty() ? to + ".keys" : Normalise(args.keys_to);
  // Everything that can be refused is checked before anything is written.
  Result<int64_t> retention = core::ParseKeyRetention(args.key_retention);
  if (!retention.ok()) return Failed("create", retention.status());
  const bool with_keys = fs::exists(keys_dir + "/CURRENT");
  if (!args.keys_to.empty() && !with_keys) {
    return Failed("create", Status::InvalidArgument("--keys-to " + args.keys_to +
                                                    ": there is no key store in " + keys_dir));
  }
  if (with_keys && !store::backup::CheckNotInUse(keys_dir).ok()) {
    return Failed("create",
                  Status::Unavailable("the key store " + keys_dir + " " + std::string(kInUse)));
  }
  Result<std::unique_ptr<store::Store>> st = OpenForBackup(data_dir);
  if (!st.ok()) return Failed("create", st.status());

  ProgressLines lines("backup of " + data_dir, args.quiet);
  Result<BackupInfo> info = (*st)->CreateBackup(to, lines.Fn());
  lines.Finish();
  const std::string path = "backup create --to " + to;
  if (!info.ok()) {
    Record(**st, path, 1).IgnoreError();  // the failure is what the user needs to see
    return Failed("create", info.status());
  }
  std::cout << "backup create: backup " << info->id << " of " << data_dir << " in " << to << ": "
            << info->files << " files, " << Mib(info->size_bytes) << ", " << Secs(lines.Elapsed())
            << "\n";
  if (Status s = Record(**st, path, 0); !s.ok()) {
    return Failed("create", s.WithContext("backup " + std::to_string(info->id) +
                                          " was made, but recording it in the access log"));
  }
  if (!with_keys) return kExitOk;

  ProgressLines key_lines("backup of " + keys_dir, args.quiet);
  Result<BackupInfo> keys = store::backup::BackupClosedDatabase(
      keys_dir, keys_to,
      store::backup::Metadata(store::backup::kKindKeyStore, fs::absolute(keys_dir).string()),
      key_lines.Fn());
  key_lines.Finish();
  const std::string keys_path = "backup create --keys-to " + keys_to;
  if (!keys.ok()) {
    Record(**st, keys_path, 1).IgnoreError();
    return Failed("create", keys.status().WithContext("key store " + keys_dir));
  }
  std::cout << "backup create: key store backup " << keys->id << " of " << keys_dir << " in "
            << keys_to << ": " << keys->files << " files, " << Mib(keys->size_bytes) << ", "
            << Secs(key_lines.Elapsed()) << "\n";
  Result<std::vector<uint32_t>> purged =
      store::backup::PurgeBackupsOlderThan(keys_to, Now() - *retention, 1);
  if (!purged.ok()) {
    Record(**st, keys_path, 1).IgnoreError();
    return Failed("create", purged.status().WithContext("purging key-store backups"));
  }
  if (!purged->empty()) {
    std::cout << "backup create: deleted " << purged->size() << " key-store backup(s) older than "
              << args.key_retention << " (";
    for (size_t i = 0; i < purged->size(); ++i)
      std::cout << (i > 0 ? ", " : "") << (*purged)[i];
    std::cout << ")\n";
  }
  if (Status s = Record(**st, keys_path, 0); !s.ok()) {
    return Failed("create", s.WithContext("recording the key-store backup in the access log"));
  }
  return kExitOk;
}

int BackupList(const BackupListArgs& args) {
  Result<std::vector<BackupInfo>> backups = store::Store::ListBackups(args.from);
  if (!backups.ok()) return Failed("list", backups.status());
  Table table({"ID", "CREATED", "SIZE", "FILES", "KIND", "SOURCE"});
  for (const BackupInfo& b : *backups) {
    Value meta = MetadataValue(b.metadata);
    if (args.json) {
      std::cout << ObjectBuilder()
                       .Add("id", static_cast<int64_t>(b.id))
                       .Add("created", FormatTimestamp(b.created))
                       .Add("size_bytes", static_cast<int64_t>(b.size_bytes))
                       .Add("files", static_cast<int64_t>(b.files))
                       .Add("metadata", meta)
                       .Build()
                       .ToJson()
                << "\n";
      continue;
    }
    const Value* kind = meta.Find("kind");
    const Value* source = meta.Find("source");
    table.Add({std::to_string(b.id), FormatTimestamp(b.created), Mib(b.size_bytes),
               std::to_string(b.files),
               kind != nullptr && kind->is_string() ? kind->as_string() : "?",
               source != nullptr && source->is_string() ? source->as_string() : ""});
  }
  if (!args.json) {
    table.Print(std::cout);
    std::cout << table.rows() << " backup(s) in " << Normalise(args.from) << "\n";
  }
  return kExitOk;
}

int BackupVerify(const BackupVerifyArgs& args) {
  const std::string from = Normalise(args.from);
  Result<BackupInfo> info = store::backup::FindBackup(from, args.id);
  if (!info.ok()) return Failed("verify", info.status());
  if (Status s = store::Store::VerifyBackup(from, info->id); !s.ok()) {
    return Failed("verify", s);
  }
  std::cout << "backup verify: backup " << info->id << " in " << from << ": " << info->files
            << " files, " << Mib(info->size_bytes) << ": every checksum matches\n";

  // A trial restore into a temporary directory, removed whatever happens.
  std::string tmpl = (fs::temp_directory_path() / "amtsweg-backup-verify").string() + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) {
    return Failed("verify",
                  Status::IOError("creating a temporary directory " + tmpl + ": " +
                                  std::error_code(errno, std::generic_category()).message()));
  }
  struct Remove {
    std::string dir;
    ~Remove() {
      std::error_code ignored;
      fs::remove_all(dir, ignored);
    }
  } remove{tmpl};
  const std::string target = tmpl + "/restored";
  ProgressLines lines("trial restore", args.quiet);
  if (store::backup::MetadataKind(info->metadata) == store::backup::kKindStore) {
    Result<store::RestoredBackup> restored =
        store::Store::RestoreBackup(from, info->id, target, false, lines.Fn());
    lines.Finish();
    if (!restored.ok()) return Failed("verify", restored.status());
    std::cout << "backup verify: backup " << info->id << " restores: " << restored->cases
              << " cases, " << restored->events << " events, every hash chain intact\n";
  } else {
    store::backup::RestoreOptions options;
    options.progress = lines.Fn();
    Result<BackupInfo> restored = store::backup::RestoreBackup(from, info->id, target, options);
    lines.Finish();
    if (!restored.ok()) return Failed("verify", restored.status());
    std::cout << "backup verify: backup " << info->id << " restores (not a store: no chains)\n";
  }
  return kExitOk;
}

int BackupRestore(const BackupRestoreArgs& args) {
  const std::string from = Normalise(args.from);
  const std::string target = Normalise(args.data_dir);
  const std::string keys_target = target + ".keys";
  const std::string keys_from = Normalise(args.keys_from);
  const bool restore_keys = !keys_from.empty() && !fs::exists(keys_target);
  if (restore_keys) {  // refused before the store is touched
    Result<BackupInfo> keys = store::backup::FindBackup(keys_from, 0);
    if (!keys.ok()) return Failed("restore", keys.status().WithContext("--keys-from"));
    if (store::backup::MetadataKind(keys->metadata) == store::backup::kKindStore) {
      return Failed("restore", Status::InvalidArgument("--keys-from " + keys_from + ": backup " +
                                                       std::to_string(keys->id) +
                                                       " there is a store's, not a key store's"));
    }
  }

  ProgressLines lines("restore into " + target, args.quiet);
  Result<store::RestoredBackup> restored =
      store::Store::RestoreBackup(from, args.id, target, args.force, lines.Fn());
  lines.Finish();
  if (!restored.ok()) return Failed("restore", restored.status());
  std::cout << "backup restore: backup " << restored->backup.id << " of " << from << " into "
            << target << ": " << restored->cases << " cases, " << restored->events
            << " events, every hash chain intact, " << Secs(lines.Elapsed()) << "\n";
  {
    store::Options options;
    options.create_if_missing = false;
    Result<std::unique_ptr<store::Store>> st = store::Store::Open(target, options);
    Status recorded = st.ok() ? Record(**st,
                                       "backup restore --from " + from + " --id " +
                                           std::to_string(restored->backup.id),
                                       0)
                              : st.status();
    if (!recorded.ok()) {
      return Failed("restore",
                    recorded.WithContext("restored, but recording it in the access log"));
    }
  }

  if (keys_from.empty()) {
    if (!fs::exists(keys_target) && fs::exists(from + ".keys/meta")) {
      std::cout << "backup restore: there is no key store in " << keys_target
                << "; if it was lost, restore it with --keys-from " << from << ".keys\n";
    }
    return kExitOk;
  }
  if (!restore_keys) {
    std::cout << "backup restore: the current key store " << keys_target
              << " is kept (it knows which cases were erased since the backup)\n";
    return kExitOk;
  }
  ProgressLines key_lines("restore into " + keys_target, args.quiet);
  store::backup::RestoreOptions options;
  options.progress = key_lines.Fn();
  Result<BackupInfo> keys = store::backup::RestoreBackup(keys_from, 0, keys_target, options);
  key_lines.Finish();
  if (!keys.ok()) return Failed("restore", keys.status().WithContext("key store"));
  std::cout << "backup restore: key store backup " << keys->id << " of " << keys_from << " into "
            << keys_target << "\n";
  store::Options open_options;
  open_options.create_if_missing = false;
  Result<std::unique_ptr<store::Store>> st = store::Store::Open(target, open_options);
  Status recorded =
      st.ok() ? Record(**st, "backup restore --keys-from " + keys_from, 0) : st.status();
  if (!recorded.ok()) {
    return Failed("restore", recorded.WithContext("recording the key-store restore"));
  }
  return kExitOk;
}

BackupCommands::BackupCommands(CLI::App& app, const std::string& data_dir) {
  CLI::App* backup =
      app.add_subcommand("backup", "Backups of a stopped engine's store (docs/data-protection.md)");
  backup->require_subcommand(1);
  create_.data_dir = data_dir;
  restore_.data_dir = data_dir;

  create_cmd_ = backup->add_subcommand(
      "create", "Back up the store (and its key store <data-dir>.keys, apart) to a directory");
  create_cmd_->add_option("--data-dir", create_.data_dir, "Store directory")->capture_default_str();
  create_cmd_->add_option("--to", create_.to, "Backup directory (created if missing)")->required();
  create_cmd_->add_option("--keys-to", create_.keys_to,
                          "Backup directory of the key store (default: the --to directory "
                          "followed by .keys)");
  create_cmd_
      ->add_option("--key-retention", create_.key_retention,
                   "Delete key-store backups older than this many days (ISO 8601, e.g. P7D), "
                   "keeping the newest")
      ->capture_default_str();
  create_cmd_->add_flag("--quiet,-q", create_.quiet, "No progress output");

  list_cmd_ = backup->add_subcommand("list", "List the backups in a backup directory");
  list_cmd_->add_option("--from", list_.from, "Backup directory")->required();
  list_cmd_->add_flag("--json", list_.json, "JSON lines instead of a table");

  verify_cmd_ = backup->add_subcommand(
      "verify",
      "Check every file's checksum, then restore into a temporary directory and "
      "verify every case's hash chain");
  verify_cmd_->add_option("--from", verify_.from, "Backup directory")->required();
  verify_cmd_->add_option("--id", verify_.id, "Backup id (default: the newest)");
  verify_cmd_->add_flag("--quiet,-q", verify_.quiet, "No progress output");

  restore_cmd_ = backup->add_subcommand(
      "restore", "Restore a backup into a new store directory, verified before it is used");
  restore_cmd_->add_option("--from", restore_.from, "Backup directory")->required();
  restore_cmd_->add_option("--id", restore_.id, "Backup id (default: the newest)");
  restore_cmd_
      ->add_option("--data-dir", restore_.data_dir,
                   "Target store directory: must not exist or be empty")
      ->capture_default_str();
  restore_cmd_->add_flag("--force", restore_.force,
                         "Replace an existing store there (only when no process has it open)");
  restore_cmd_->add_option("--keys-from", restore_.keys_from,
                           "Key-store backup directory: restore its newest backup into "
                           "<data-dir>.keys when there is no key store there");
  restore_cmd_->add_flag("--quiet,-q", restore_.quiet, "No progress output");
}

std::optional<int> BackupCommands::Run() const {
  if (*create_cmd_) return BackupCreate(create_);
  if (*list_cmd_) return BackupList(list_);
  if (*verify_cmd_) return BackupVerify(verify_);
  if (*restore_cmd_) return BackupRestore(restore_);
  return std::nullopt;
}

}  // namespace amtsweg::cli
