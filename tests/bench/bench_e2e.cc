// bench_e2e: end to end from a file source through Engine::Drain into a RocksDB store.
//
//   bench_e2e --events FILE --tmp DIR [--runs 3] [--batches 1000,5000]
//
// Figure: input events/s for a whole Drain (read lines, decode, runtime, encode, hash chain,
// one WriteBatch per input batch written with sync=true = one fsync per batch), median of
// --runs, each into a fresh store. No sink: the outbox stays in the store.
// Ceiling: bare RocksDB in the same run -- the same number of WriteBatches, each written with
// sync=true, holding the same WAL bytes as the engine's batches (measured from the engine's WAL
// files after every batch) spread over as many keys as the engine left in the store (a lower
// bound of the keys it wrote), in the same column families. The ratio is the engine's cost on
// top of the durable write itself. A sync=false run is printed too, clearly labelled.
//
// Encryption: after each durable run the same run again with the personal values sealed under
// per-case data keys (a crypto::KeyStore beside the store, synced like the engine's: one more
// fsync per batch for the batch's new keys), so that runs alternate off, on, off, on. Printed:
// the medians on and off and their ratio (as e2e_sync_encrypted_batchN with the unencrypted
// median in the ceiling column), the WAL bytes per input of both and the key store's.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>
#include <spdlog/spdlog.h>

#include <cinttypes>
#include <filesystem>
#include <map>

#include "connectors/file/file_source.h"
#include "engine/common/clock.h"
#include "engine/core/case_keys.h"
#include "engine/core/cloudevent.h"
#include "engine/core/engine.h"
#include "engine/crypto/kek.h"
#include "engine/crypto/key_store.h"
#include "engine/store/store.h"
#include "tests/bench/bench_util.h"

namespace amtsweg::bench {
namespace {

namespace fs = std::filesystem;

// Sums the sizes of every WAL file seen in `dir` (files grow, then are deleted after flushes).
struct WalMeter {
  std::map<std::string, uint64_t> sizes;
  void Poll(const std::string& dir) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() != ".log") continue;
      uint64_t size = entry.file_size(ec);
      if (ec) continue;
      uint64_t& s = sizes[entry.path().filename().string()];
      s = std::max(s, size);
    }
  }
  uint64_t Total() const {
    uint64_t t = 0;
    for (const auto& [name, size] : sizes)
      t += size;
    return t;
  }
};

struct Run {
  double seconds = 0;
  core::EngineStats stats;
  uint64_t wal_bytes = 0;
  uint64_t key_wal_bytes = 0;                   // the key store's WAL (encrypted runs)
  std::map<std::string, uint64_t> keys_per_cf;  // keys left in the store
};

std::map<std::string, uint64_t> CountKeys(const std::string& dir) {
  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
  if (!s.ok()) Die(s.ToString());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& n : names)
    cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, cfs, &handles, &raw);
  if (!s.ok()) Die(s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  std::map<std::string, uint64_t> out;
  for (size_t i = 0; i < handles.size(); ++i) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next())
      ++n;
    out[names[i]] = n;
    db->DestroyColumnFamilyHandle(handles[i]).PermitUncheckedError();
  }
  return out;
}

// `encrypt`: with a key store in dir + ".keys" (fresh, synced), else without encryption.
Run EngineRun(const Workflows& w, const std::string& events, const std::string& dir, size_t batch,
              bool sync, bool count_keys, bool encrypt = false) {
  const std::string key_dir = dir + ".keys";
  fs::remove_all(dir);
  fs::remove_all(key_dir);
  Run run;
  {
    store::Options so;
    so.sync = sync;
    auto st = store::Store::Open(dir, so);
    if (!st.ok()) Die(st.status().ToString());
    std::unique_ptr<crypto::KeyStore> key_store;
    std::unique_ptr<core::CaseKeys> case_keys;
    if (encrypt) {
      auto keks = crypto::ParseKeks(crypto::NewKekLine("bench"), "bench");
      if (!keks.ok()) Die(keks.status().ToString());
      auto ks = crypto::KeyStore::Open(key_dir, std::move(*keks));
      if (!ks.ok()) Die(ks.status().ToString());
      key_store = std::move(*ks);
      case_keys = std::make_unique<core::CaseKeys>(*key_store);
    }
    core::EngineOptions options;
    options.keys = case_keys.get();
    ManualClock clock(0);
    core::Engine engine(**st, w.registry, *w.directory, clock, options);
    if (Status s = engine.Open(); !s.ok()) Die(s.ToString());
    auto src = connectors::FileSource::Open(events, core::kDefaultMaxEventBytes);
    if (!src.ok()) Die(src.status().ToString());
    WalMeter wal, key_wal;
    double t0 = Seconds();
    Status s = engine.Drain(**src, nullptr, batch, [&](const core::EngineStats&) {
      wal.Poll(dir);
      if (encrypt) key_wal.Poll(key_dir);
    });
    run.seconds = Seconds() - t0;
    if (!s.ok()) Die(s.ToString());
    wal.Poll(dir);
    if (encrypt) key_wal.Poll(key_dir);
    run.stats = engine.stats();
    run.wal_bytes = wal.Total();
    run.key_wal_bytes = key_wal.Total();
  }
  fs::remove_all(key_dir);
  if (count_keys) run.keys_per_cf = CountKeys(dir);
  return run;
}

// Writes `batches` WriteBatches (sync as given) with `keys` keys in total over the column
// families in proportion to `shape`, sized so that the WAL receives about `wal_bytes`.
double CeilingRun(const std::string& dir, const std::map<std::string, uint64_t>& shape,
                  uint64_t batches, uint64_t wal_bytes, bool sync, uint64_t* written) {
  fs::remove_all(dir);
  rocksdb::Options opt;
  opt.create_if_missing = true;
  opt.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  std::vector<uint64_t> weights;
  uint64_t keys = 0;
  for (const auto& [name, n] : shape) {
    cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    weights.push_back(n);
    keys += n;
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opt, dir, cfs, &handles, &raw);
  if (!s.ok()) Die(s.ToString());
  std::unique_ptr<rocksdb::DB> db(raw);
  uint64_t per_batch = std::max<uint64_t>(1, keys / batches);
  constexpr size_t kKey = 28;  // like "GA-2026-0001234" + a fixed-width seq
  double per_key = static_cast<double>(wal_bytes) / static_cast<double>(batches * per_batch);
  size_t value_size = per_key > kKey + 8 ? static_cast<size_t>(per_key) - kKey - 8 : 1;
  std::string value(value_size, 'v');
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  uint64_t k = 0;
  *written = 0;
  double t0 = Seconds();
  for (uint64_t b = 0; b < batches; ++b) {
    rocksdb::WriteBatch wb;
    for (uint64_t i = 0; i < per_batch; ++i, ++k) {
      // Round-robin over the families, weighted by their key counts.
      uint64_t slot = k % keys, acc = 0;
      size_t cf = 0;
      while (cf + 1 < weights.size() && slot >= acc + weights[cf])
        acc += weights[cf++];
      char key[kKey + 1];
      std::snprintf(key, sizeof key, "XX-2026-%07" PRIu64 "/%012" PRIu64, k % 9999991, k);
      value[0] = static_cast<char>('a' + k % 26);
      if (!wb.Put(handles[cf], rocksdb::Slice(key, kKey), value).ok()) Die("put");
    }
    *written += wb.GetDataSize();
    s = db->Write(wo, &wb);
    if (!s.ok()) Die(s.ToString());
  }
  double seconds = Seconds() - t0;
  for (auto* h : handles)
    db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db->Close().PermitUncheckedError();
  return seconds;
}

int Main(int argc, char** argv) {
  std::string events = Flag(argc, argv, "--events", "");
  std::string tmp = Flag(argc, argv, "--tmp", "");
  if (events.empty() || tmp.empty()) Die("usage: bench_e2e --events FILE --tmp DIR");
  int runs = std::atoi(Flag(argc, argv, "--runs", "3").c_str());
  std::vector<size_t> sizes;
  {
    std::string list = Flag(argc, argv, "--batches", "1000,5000");
    size_t pos = 0;
    while (pos < list.size()) {
      size_t comma = list.find(',', pos);
      if (comma == std::string::npos) comma = list.size();
      sizes.push_back(std::stoul(list.substr(pos, comma - pos)));
      pos = comma + 1;
    }
  }
  Workflows w = LoadWorkflows(argc, argv);
  fs::create_directories(tmp);

  for (size_t batch : sizes) {
    std::vector<double> engine_rates, ceiling_rates, encrypted_rates;
    Run first, first_encrypted;
    for (int r = 0; r < runs; ++r) {
      Run run = EngineRun(w, events, tmp + "/engine", batch, true, r == 0);
      if (r == 0) first = run;
      engine_rates.push_back(static_cast<double>(run.stats.inputs) / run.seconds);
      uint64_t written = 0;
      double secs = CeilingRun(tmp + "/ceiling", first.keys_per_cf, run.stats.batches,
                               run.wal_bytes, true, &written);
      ceiling_rates.push_back(static_cast<double>(run.stats.inputs) / secs);
      std::printf("e2e: batch %zu sync run %d: engine %.2fs (%.0f inputs/s), %" PRIu64
                  " batches, WAL %.1f MiB; ceiling %.2fs (%.1f MiB in batches)\n",
                  batch, r, run.seconds, engine_rates.back(), run.stats.batches,
                  static_cast<double>(run.wal_bytes) / 1048576.0, secs,
                  static_cast<double>(written) / 1048576.0);
      Run enc = EngineRun(w, events, tmp + "/engine", batch, true, false, /*encrypt=*/true);
      if (r == 0) first_encrypted = enc;
      encrypted_rates.push_back(static_cast<double>(enc.stats.inputs) / enc.seconds);
      std::printf(
          "e2e: batch %zu sync run %d encrypted: engine %.2fs (%.0f inputs/s), WAL %.1f "
          "MiB, key store WAL %.1f MiB\n",
          batch, r, enc.seconds, encrypted_rates.back(),
          static_cast<double>(enc.wal_bytes) / 1048576.0,
          static_cast<double>(enc.key_wal_bytes) / 1048576.0);
      if (enc.stats.accepted != run.stats.accepted || enc.stats.rejected != run.stats.rejected ||
          enc.stats.domain_events != run.stats.domain_events ||
          enc.stats.cases_closed != run.stats.cases_closed) {
        Die("the encrypted run did not process the stream as the plain one did");
      }
    }
    const core::EngineStats& st = first.stats;
    uint64_t keys = 0;
    for (const auto& [cf, n] : first.keys_per_cf)
      keys += n;
    std::printf("e2e: inputs=%" PRIu64 " accepted=%" PRIu64 " rejected=%" PRIu64
                " duplicates=%" PRIu64 " timers_fired=%" PRIu64 " domain_events=%" PRIu64
                " cases=%" PRIu64 " closed=%" PRIu64 " batches=%" PRIu64 "\n",
                st.inputs, st.accepted, st.rejected, st.duplicates, st.timers_fired,
                st.domain_events, st.cases_opened, st.cases_closed, st.batches);
    std::printf("e2e: stored keys %" PRIu64 " (", keys);
    for (const auto& [cf, n] : first.keys_per_cf)
      std::printf(" %s=%" PRIu64, cf.c_str(), n);
    std::printf(" ), WAL bytes/input %.0f\n",
                static_cast<double>(first.wal_bytes) / static_cast<double>(st.inputs));
    std::string name = "e2e_sync_batch" + std::to_string(batch);
    Report(name.c_str(), Median(engine_rates), "events/s", Median(ceiling_rates));
    std::printf("e2e: domain events/s at batch %zu: %.0f\n", batch,
                Median(engine_rates) * static_cast<double>(st.domain_events) /
                    static_cast<double>(st.inputs));
    const double inputs = static_cast<double>(st.inputs);
    std::printf(
        "e2e: encryption at batch %zu: on %.0f inputs/s, off %.0f inputs/s (medians of "
        "%d alternating runs each), on/off %.3f; WAL bytes/input on %.0f, off %.0f; key "
        "store WAL bytes/input %.0f\n",
        batch, Median(encrypted_rates), Median(engine_rates), runs,
        Median(encrypted_rates) / Median(engine_rates),
        static_cast<double>(first_encrypted.wal_bytes) / inputs,
        static_cast<double>(first.wal_bytes) / inputs,
        static_cast<double>(first_encrypted.key_wal_bytes) / inputs);
    // The unencrypted median stands in the ceiling column: the ratio is on/off.
    // Where the difference lies: Run's timers (the key store's synced write of a batch's new keys
    // is in process, before the store's commit).
    auto secs = [](uint64_t us) { return static_cast<double>(us) / 1e6; };
    std::printf(
        "e2e: encryption at batch %zu, first runs: off process %.2fs commit %.2fs; on "
        "process %.2fs commit %.2fs\n",
        batch, secs(first.stats.process_us), secs(first.stats.commit_us),
        secs(first_encrypted.stats.process_us), secs(first_encrypted.stats.commit_us));
    std::string enc_name = "e2e_sync_encrypted_batch" + std::to_string(batch);
    Report(enc_name.c_str(), Median(encrypted_rates), "events/s", Median(engine_rates));
  }

  // Without fsync: what the engine costs when the disk is out of the picture.
  {
    size_t batch = sizes.front();
    std::vector<double> engine_rates, ceiling_rates;
    Run first;
    for (int r = 0; r < runs; ++r) {
      Run run = EngineRun(w, events, tmp + "/engine", batch, false, r == 0);
      if (r == 0) first = run;
      engine_rates.push_back(static_cast<double>(run.stats.inputs) / run.seconds);
      uint64_t written = 0;
      double secs = CeilingRun(tmp + "/ceiling", first.keys_per_cf, run.stats.batches,
                               run.wal_bytes, false, &written);
      ceiling_rates.push_back(static_cast<double>(run.stats.inputs) / secs);
    }
    std::string name = "e2e_NOSYNC_batch" + std::to_string(batch);
    Report(name.c_str(), Median(engine_rates), "events/s", Median(ceiling_rates));
  }
  fs::remove_all(tmp + "/engine");
  fs::remove_all(tmp + "/ceiling");
  return 0;
}

}  // namespace
}  // namespace amtsweg::bench

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // dead letters are logged at info
  return amtsweg::bench::Main(argc, argv);
}
