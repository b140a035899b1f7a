// Backup and restore of a store of a million events (Store::CreateBackup, Store::RestoreBackup)
// beside a plain recursive copy of the same store directory (std::filesystem::copy), the ceiling
// measured in the same run. The store is written directly through Store::Commit (synthetic
// payloads of about 200 bytes, sync off), closed and reopened, so that every run backs up the
// same flushed files.
//
//   bench_backup --tmp DIR [--events 1000000] [--payload 200] [--runs 3]
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/utilities/options_util.h>

#include <filesystem>
#include <random>

#include "engine/store/internal/backup.h"
#include "engine/store/store.h"
#include "tests/bench/bench_util.h"

namespace amtsweg::bench {
namespace {

namespace fs = std::filesystem;

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

template <typename T>
T Check(Result<T> r, const char* what) {
  if (!r.ok()) Die(std::string(what) + ": " + r.status().ToString());
  return std::move(r).value();
}

// A domain event of about `size` bytes: JSON-like text with a random part, so that it
// compresses about as well as real events do.
std::string Payload(std::mt19937_64& rng, const std::string& case_id, uint64_t seq, size_t size) {
  static constexpr char kAlnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string p = R"({"type":"de.amtsweg.case.step","case":")" + case_id + R"(","seq":)" +
                  std::to_string(seq) + R"(,"at":"2026-03-01T10:15:00Z","data":")";
  while (p.size() + 2 < size)
    p.push_back(kAlnum[rng() % (sizeof kAlnum - 1)]);
  p += "\"}";
  return p;
}

void Build(const std::string& dir, uint64_t events, size_t payload) {
  store::Options options;
  options.sync = false;  // a benchmark's store, not a durable one
  auto st = Check(store::Store::Open(dir, options), "opening the store");
  std::mt19937_64 rng(20261201);
  constexpr uint64_t kEventsPerCase = 20;
  constexpr uint64_t kCasesPerBatch = 50;
  const uint64_t cases = events / kEventsPerCase;
  for (uint64_t first = 0; first < cases; first += kCasesPerBatch) {
    store::Batch batch;
    for (uint64_t c = first; c < std::min(cases, first + kCasesPerBatch); ++c) {
      store::CaseWrite cw;
      cw.case_id = "case-" + std::to_string(c);
      for (uint64_t s = 1; s <= kEventsPerCase; ++s)
        cw.events.push_back(Payload(rng, cw.case_id, s, payload));
      cw.snapshot = std::string(120, 's');
      batch.cases.push_back(std::move(cw));
    }
    batch.positions = {{"bench", std::to_string(first + kCasesPerBatch)}};
    Check(st->Commit(batch), "commit");
  }
}

// Compacts every family of the closed store with its own options (from its OPTIONS file), so
// that no compaction runs beside the timed backups and every run copies the same files.
void CompactAll(const std::string& dir) {
  rocksdb::ConfigOptions config;
  config.ignore_unknown_options = true;  // the store's memtable hint transform is not loadable
  rocksdb::DBOptions db_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  if (!rocksdb::LoadLatestOptions(config, dir, &db_options, &families).ok()) Die("options");
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (!rocksdb::DB::Open(db_options, dir, families, &handles, &raw).ok())
    Die("open for compaction");
  std::unique_ptr<rocksdb::DB> db(raw);
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    if (!db->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr).ok()) Die("compact");
    if (!db->DestroyColumnFamilyHandle(h).ok()) Die("handle");
  }
  if (!db->Close().ok()) Die("close");
}

int Main(int argc, char** argv) {
  const std::string tmp = Flag(argc, argv, "--tmp", "");
  if (tmp.empty()) Die("give --tmp DIR");
  const uint64_t events = std::stoull(Flag(argc, argv, "--events", "1000000"));
  const size_t payload = std::stoul(Flag(argc, argv, "--payload", "200"));
  const int runs = std::stoi(Flag(argc, argv, "--runs", "3"));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  const std::string db = tmp + "/store";

  double t0 = Seconds();
  Build(db, events, payload);
  const double build_s = Seconds() - t0;
  CompactAll(db);
  store::Options options;
  options.sync = false;
  auto st = Check(store::Store::Open(db, options), "reopening the store");
  const double mb = static_cast<double>(DirBytes(db)) / 1e6;
  std::printf("store: %llu events of %zu bytes in %.1f s; directory %.1f MB (compacted)\n",
              static_cast<unsigned long long>(events), payload, build_s, mb);
  std::vector<double> backup_s, restore_s, restore_verify_s, copy_s;
  std::vector<double> backup_mbs, restore_mbs, restore_verify_mbs, copy_mbs;
  for (int r = 0; r < runs; ++r) {
    const std::string n = std::to_string(r);
    const std::string backups = tmp + "/backups-" + n;  // fresh: a full, not incremental, backup
    t0 = Seconds();
    store::BackupInfo info = Check(st->CreateBackup(backups, {}), "backup");
    backup_s.push_back(Seconds() - t0);

    t0 = Seconds();
    std::error_code ec;
    fs::copy(db, tmp + "/copy-" + n, fs::copy_options::recursive, ec);
    if (ec) Die("copy: " + ec.message());
    copy_s.push_back(Seconds() - t0);
    const double copied_mb = static_cast<double>(DirBytes(tmp + "/copy-" + n)) / 1e6;

    t0 = Seconds();
    Check(store::backup::RestoreBackup(backups, 0, tmp + "/restored-" + n, {}), "restore");
    restore_s.push_back(Seconds() - t0);

    t0 = Seconds();
    store::RestoredBackup restored = Check(
        store::Store::RestoreBackup(backups, 0, tmp + "/verified-" + n, false, {}), "restore");
    restore_verify_s.push_back(Seconds() - t0);
    const double backup_mb = static_cast<double>(info.size_bytes) / 1e6;
    backup_mbs.push_back(backup_mb / backup_s.back());
    restore_mbs.push_back(backup_mb / restore_s.back());
    restore_verify_mbs.push_back(backup_mb / restore_verify_s.back());
    copy_mbs.push_back(copied_mb / copy_s.back());
    std::printf(
        "run %d: backup %u (%u files, %.1f MB) %.2f s; copy (%.1f MB) %.2f s; restore %.2f s; "
        "restore + verify %llu cases, %llu events %.2f s\n",
        r + 1, info.id, info.files, static_cast<double>(info.size_bytes) / 1e6, backup_s.back(),
        copied_mb, copy_s.back(), restore_s.back(), static_cast<unsigned long long>(restored.cases),
        static_cast<unsigned long long>(restored.events), restore_verify_s.back());
    for (const char* d : {"backups-", "copy-", "restored-", "verified-"})
      fs::remove_all(tmp + "/" + d + n);
  }
  st.reset();
  fs::remove_all(tmp);

  std::printf(
      "medians of %d runs: backup %.2f s, restore %.2f s, restore + verify %.2f s, "
      "copy %.2f s\n",
      runs, Median(backup_s), Median(restore_s), Median(restore_verify_s), Median(copy_s));
  // MB/s of each operation's own bytes (the backup's files; the copied directory).
  const double copy = Median(copy_mbs);
  Report("backup_mb_per_s", Median(backup_mbs), "MB/s", copy);
  Report("restore_mb_per_s", Median(restore_mbs), "MB/s", copy);
  Report("restore_verify_mb_per_s", Median(restore_verify_mbs), "MB/s", copy);
  Report("copy_mb_per_s", copy, "MB/s");
  return 0;
}

}  // namespace
}  // namespace amtsweg::bench

int main(int argc, char** argv) {
  return amtsweg::bench::Main(argc, argv);
}
