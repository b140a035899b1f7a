// bench_replay: replaying stored histories.
//
//   bench_replay --events FILE --tmp DIR [--runs 5]
//
// Ingests FILE into a fresh store (sync off, untimed), then measures, median of --runs:
// Figure: events/s for rebuilding every case's state from its log -- Store::ScanCases for the
// ids, then per case Store::ScanEvents + DecodeEvent + Apply.
// Also: Store::ScanEvents alone (no decode, no Apply), to split the cost.
// Ceiling: a bare RocksDB iterator over the events column family of the same directory (opened
// read-only with rocksdb directly), touching every key and value byte once.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <spdlog/spdlog.h>

#include <cinttypes>
#include <filesystem>

#include "connectors/file/file_source.h"
#include "engine/common/clock.h"
#include "engine/core/cloudevent.h"
#include "engine/core/engine.h"
#include "engine/runtime/case_state.h"
#include "engine/store/store.h"
#include "tests/bench/bench_util.h"

namespace amtsweg::bench {
namespace {

namespace fs = std::filesystem;

void Ingest(const Workflows& w, const std::string& events, const std::string& dir) {
  fs::remove_all(dir);
  store::Options so;
  so.sync = false;
  auto st = store::Store::Open(dir, so);
  if (!st.ok()) Die(st.status().ToString());
  ManualClock clock(0);
  core::Engine engine(**st, w.registry, *w.directory, clock);
  if (Status s = engine.Open(); !s.ok()) Die(s.ToString());
  auto src = connectors::FileSource::Open(events, core::kDefaultMaxEventBytes);
  if (!src.ok()) Die(src.status().ToString());
  if (Status s = engine.Drain(**src, nullptr, 5000); !s.ok()) Die(s.ToString());
}

int Main(int argc, char** argv) {
  std::string events = Flag(argc, argv, "--events", "");
  std::string tmp = Flag(argc, argv, "--tmp", "");
  if (events.empty() || tmp.empty()) Die("usage: bench_replay --events FILE --tmp DIR");
  int runs = std::atoi(Flag(argc, argv, "--runs", "5").c_str());
  Workflows w = LoadWorkflows(argc, argv);
  fs::create_directories(tmp);
  std::string dir = tmp + "/replay";
  Ingest(w, events, dir);

  std::vector<double> replay_times, scan_times, raw_times;
  uint64_t n_events = 0, n_cases = 0, bytes = 0;
  {
    auto opened = store::Store::Open(dir);
    if (!opened.ok()) Die(opened.status().ToString());
    store::Store& st = **opened;
    for (int r = 0; r < runs; ++r) {
      uint64_t n = 0, cases = 0;
      double t0 = Seconds();
      std::vector<std::string> ids;
      Status s = st.ScanCases([&](std::string_view id, const store::CaseRecord&) {
        ids.emplace_back(id);
        return true;
      });
      if (!s.ok()) Die(s.ToString());
      for (const std::string& id : ids) {
        runtime::CaseState state;
        Status scan = st.ScanEvents(id, 1, UINT64_MAX, [&](const store::EventRecord& rec) {
          Result<runtime::DomainEvent> e = runtime::DecodeEvent(rec.payload);
          if (!e.ok()) Die(e.status().ToString());
          if (!runtime::Apply(&state, *e).ok()) Die("apply failed on " + id);
          ++n;
          return true;
        });
        if (!scan.ok()) Die(scan.ToString());
        ++cases;
      }
      replay_times.push_back(Seconds() - t0);
      n_events = n;
      n_cases = cases;
    }
    for (int r = 0; r < runs; ++r) {
      uint64_t n = 0;
      double t0 = Seconds();
      std::vector<std::string> ids;
      Status s = st.ScanCases([&](std::string_view id, const store::CaseRecord&) {
        ids.emplace_back(id);
        return true;
      });
      if (!s.ok()) Die(s.ToString());
      for (const std::string& id : ids) {
        Status scan = st.ScanEvents(id, 1, UINT64_MAX, [&](const store::EventRecord& rec) {
          n += rec.payload.size() > 0;
          return true;
        });
        if (!scan.ok()) Die(scan.ToString());
      }
      scan_times.push_back(Seconds() - t0);
      if (n != n_events) Die("scan count differs");
    }
  }
  {
    std::vector<std::string> names;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names);
    if (!s.ok()) Die(s.ToString());
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    size_t events_cf = names.size();
    for (size_t i = 0; i < names.size(); ++i) {
      cfs.emplace_back(names[i], rocksdb::ColumnFamilyOptions());
      if (names[i] == "events") events_cf = i;
    }
    if (events_cf == names.size()) Die("no events column family");
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(), dir, cfs, &handles, &raw);
    if (!s.ok()) Die(s.ToString());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (int r = 0; r < runs; ++r) {
      uint64_t n = 0, sum = 0, check = 0;
      double t0 = Seconds();
      std::unique_ptr<rocksdb::Iterator> it(
          db->NewIterator(rocksdb::ReadOptions(), handles[events_cf]));
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        rocksdb::Slice k = it->key(), v = it->value();
        sum += k.size() + v.size();
        // Touch the bytes, as decoding would.
        for (size_t i = 0; i < v.size(); i += 64)
          check += static_cast<uint8_t>(v[i]);
        ++n;
      }
      raw_times.push_back(Seconds() - t0);
      if (n != n_events) Die("raw iterator saw a different number of events");
      bytes = sum + (check & 0);
    }
    for (auto* h : handles)
      db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  fs::remove_all(dir);

  double ne = static_cast<double>(n_events);
  std::printf("replay: %" PRIu64 " cases, %" PRIu64 " events, %.1f MiB in the events family\n",
              n_cases, n_events, static_cast<double>(bytes) / 1048576.0);
  std::printf("replay: ScanEvents+Decode+Apply %10.0f events/s (median of %d)\n",
              ne / Median(replay_times), runs);
  std::printf("replay: ScanEvents only         %10.0f events/s\n", ne / Median(scan_times));
  std::printf("replay: raw iterator (ceiling)  %10.0f events/s  %.0f MB/s\n",
              ne / Median(raw_times), static_cast<double>(bytes) / Median(raw_times) / 1e6);
  Report("replay_per_s", ne / Median(replay_times), "events/s", ne / Median(raw_times));
  Report("replay_scan_only_per_s", ne / Median(scan_times), "events/s", ne / Median(raw_times));
  return 0;
}

}  // namespace
}  // namespace amtsweg::bench

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // dead letters are logged at info
  return amtsweg::bench::Main(argc, argv);
}
