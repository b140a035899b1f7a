// bench_erase: the time to erase closed cases (crypto-shredding, docs/data-protection.md) through
// Engine::ProcessBatch, beside ordinary input batches of the same size on the same store.
//
//   bench_erase --events FILE --tmp DIR [--erase 10000] [--batch 1000] [--hold 5000] [--runs 3]
//               [--seed S]
//
// Per run, into a fresh store with encryption (a crypto::KeyStore beside it; both synced, as in
// production):
//  1. build: the stream but its last --hold lines, drained in batches of 5000 with a sink that
//     acknowledges everything (the outbox is delivered, as Engine::Run does);
//  2. ceiling: the held lines as ProcessBatch calls of --batch ordinary inputs each, each timed;
//  3. the clock advanced a year past the last input, so that deadlines expire and cases close;
//  4. --erase closed cases (drawn with --seed) erased as ProcessBatch calls of --batch erasure
//     inputs (runtime::input_type::kErasureRequested, each its own id, from an administrator),
//     each timed whole: processing (folding each case's log without its key), the commit,
//     KeyStore::Destroy (synced write, the key store's flush and compaction) and
//     Store::PurgeErased (dead letters, flush, compaction), split by EngineStats' timers.
// Between batches (untimed) the outbox is delivered to the acknowledging sink.
// Figure: erasures/s over the whole erasure phase (median of --runs); ceiling: ordinary inputs/s
// of the ceiling batches of the same run. The purge's share is printed beside it.
#include <spdlog/spdlog.h>

#include <cinttypes>
#include <filesystem>
#include <random>

#include "connectors/file/file_source.h"
#include "engine/common/clock.h"
#include "engine/common/time.h"
#include "engine/common/value.h"
#include "engine/core/case_keys.h"
#include "engine/core/case_query.h"
#include "engine/core/cloudevent.h"
#include "engine/core/engine.h"
#include "engine/crypto/kek.h"
#include "engine/crypto/key_store.h"
#include "engine/runtime/events.h"
#include "engine/store/store.h"
#include "tests/bench/bench_util.h"

namespace amtsweg::bench {
namespace {

namespace fs = std::filesystem;

constexpr Timestamp kYearMs = int64_t{366} * 24 * 3600 * 1000;

// Acknowledges every message at once: the outbox is delivered as fast as the engine hands it out.
class AckSink final : public core::Sink {
 public:
  Status Send(std::vector<core::OutboundMessage> messages) override {
    for (const core::OutboundMessage& m : messages)
      sent_.push_back(m.seq);
    return Status::OK();
  }
  Status Acknowledged(std::chrono::milliseconds, std::vector<uint64_t>* seqs) override {
    seqs->insert(seqs->end(), sent_.begin(), sent_.end());
    sent_.clear();
    return Status::OK();
  }

 private:
  std::vector<uint64_t> sent_;
};

void Check(const Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

void Deliver(core::Engine& engine, AckSink& sink) {
  Check(engine.FlushOutbox(sink, nullptr, std::chrono::seconds(60)), "delivering the outbox");
}

// One timed ProcessBatch: wall time and the engine's timers over it (seconds).
struct BatchTime {
  double total = 0, commit = 0, keys = 0, purge = 0;
  double process() const { return total - commit - keys - purge; }
};

BatchTime Timed(core::Engine& engine, const std::vector<core::RawInput>& inputs,
                const std::string& source, uint64_t position,
                std::vector<core::InputVerdict>* verdicts) {
  core::EngineStats before = engine.stats();
  double t0 = Seconds();
  Check(engine.ProcessBatch(inputs, source, {{source, std::to_string(position)}}, {}, verdicts),
        "ProcessBatch");
  BatchTime t;
  t.total = Seconds() - t0;
  const core::EngineStats& after = engine.stats();
  t.commit = static_cast<double>(after.commit_us - before.commit_us) / 1e6;
  t.keys = static_cast<double>(after.erase_keys_us - before.erase_keys_us) / 1e6;
  t.purge = static_cast<double>(after.erase_purge_us - before.erase_purge_us) / 1e6;
  return t;
}

core::RawInput ErasureInput(const std::string& case_id, Timestamp now, uint64_t n) {
  core::RawInput raw;
  raw.bytes = ObjectBuilder()
                  .Add("specversion", "1.0")
                  .Add("id", "erasure:" + case_id + ":" + std::to_string(n))
                  .Add("source", "urn:amtsweg:bench")
                  .Add("type", runtime::input_type::kErasureRequested)
                  .Add("subject", case_id)
                  .Add("time", FormatTimestamp(now))
                  .Add("data", ObjectBuilder()
                                   .Add("reason", "request of the data subject")
                                   .Add("basis", "Art. 17(1)(a) DSGVO")
                                   .Build())
                  .Build()
                  .ToJson();
  raw.size = raw.bytes.size();
  raw.where = "bench erasure " + std::to_string(n);
  raw.channel = "the benchmark";
  raw.admin = "local:bench";
  return raw;
}

struct RunResult {
  uint64_t closed = 0, cases = 0;              // closed cases before the erasures, all cases
  std::vector<BatchTime> ordinary, erase;      // per batch
  double ordinary_bytes = 0, erase_bytes = 0;  // mean bytes per input
  double build_seconds = 0;
};

RunResult OneRun(const Workflows& w, const std::vector<std::string>& lines, const std::string& tmp,
                 size_t erase_count, size_t batch, size_t hold, uint64_t seed) {
  const std::string dir = tmp + "/store", key_dir = tmp + "/store.keys";
  const std::string head = tmp + "/head.jsonl";
  fs::remove_all(dir);
  fs::remove_all(key_dir);
  if (hold >= lines.size()) Die("--hold is not smaller than the stream");
  {
    std::ofstream out(head, std::ios::trunc);
    for (size_t i = 0; i + hold < lines.size(); ++i)
      out << lines[i] << '\n';
    if (!out) Die("cannot write " + head);
  }
  RunResult res;
  auto st = store::Store::Open(dir, store::Options());
  if (!st.ok()) Die(st.status().ToString());
  auto keks = crypto::ParseKeks(crypto::NewKekLine("bench"), "bench");
  if (!keks.ok()) Die(keks.status().ToString());
  auto ks = crypto::KeyStore::Open(key_dir, std::move(*keks));
  if (!ks.ok()) Die(ks.status().ToString());
  core::CaseKeys case_keys(**ks);
  core::EngineOptions options;
  options.keys = &case_keys;
  ManualClock clock(0);
  core::Engine engine(**st, w.registry, *w.directory, clock, options);
  Check(engine.Open(), "Open");
  AckSink sink;

  double t0 = Seconds();
  {
    auto src = connectors::FileSource::Open(head, core::kDefaultMaxEventBytes);
    if (!src.ok()) Die(src.status().ToString());
    Check(engine.Drain(**src, &sink, 5000), "Drain");
  }
  res.build_seconds = Seconds() - t0;

  // Ordinary input batches: the held tail of the stream.
  const std::string tail_source = "bench:tail";
  uint64_t position = 0, bytes = 0, count = 0;
  for (size_t first = lines.size() - hold; first < lines.size(); first += batch) {
    std::vector<core::RawInput> inputs;
    for (size_t i = first; i < std::min(lines.size(), first + batch); ++i) {
      core::RawInput& raw = inputs.emplace_back();
      raw.bytes = lines[i];
      raw.size = raw.bytes.size();
      raw.where = "line " + std::to_string(i + 1);
      bytes += raw.size;
    }
    if (inputs.size() < batch) break;  // only full batches are compared
    count += inputs.size();
    Deliver(engine, sink);
    position += inputs.size();
    res.ordinary.push_back(Timed(engine, inputs, tail_source, position, nullptr));
  }
  res.ordinary_bytes = count > 0 ? static_cast<double>(bytes) / static_cast<double>(count) : 0;

  Check(engine.AdvanceClock(engine.now() + kYearMs), "AdvanceClock");
  Deliver(engine, sink);

  Result<core::CasePage> page = core::ListCases(**st, core::CaseFilter());
  if (!page.ok()) Die(page.status().ToString());
  std::vector<std::string> closed;
  for (const runtime::CaseState& c : page->cases) {
    if (!c.open() && !c.erased()) closed.push_back(c.id);
  }
  res.cases = page->cases.size();
  res.closed = closed.size();
  if (closed.size() < erase_count) {
    Die("only " + std::to_string(closed.size()) + " closed cases of " + std::to_string(res.cases) +
        " (need " + std::to_string(erase_count) + "): generate more cases");
  }
  std::mt19937_64 rng(seed);
  std::shuffle(closed.begin(), closed.end(), rng);
  closed.resize(erase_count);

  const std::string admin_source = "bench:erasure";
  bytes = 0;
  std::vector<core::InputVerdict> verdicts;
  for (size_t first = 0; first < closed.size(); first += batch) {
    std::vector<core::RawInput> inputs;
    for (size_t i = first; i < std::min(closed.size(), first + batch); ++i) {
      inputs.push_back(ErasureInput(closed[i], engine.now(), i));
      bytes += inputs.back().size;
    }
    Deliver(engine, sink);
    res.erase.push_back(Timed(engine, inputs, admin_source, first + inputs.size(), &verdicts));
    for (size_t i = 0; i < verdicts.size(); ++i) {
      if (!verdicts[i].kind.empty()) {
        Die("erasure of " + closed[first + i] + " refused: " + verdicts[i].kind + ": " +
            verdicts[i].reason);
      }
    }
  }
  res.erase_bytes = static_cast<double>(bytes) / static_cast<double>(closed.size());
  if (engine.stats().cases_erased != erase_count) {
    Die("erased " + std::to_string(engine.stats().cases_erased) + " cases, not " +
        std::to_string(erase_count));
  }
  fs::remove(head);
  return res;
}

double Sum(const std::vector<BatchTime>& v, double BatchTime::*part) {
  double s = 0;
  for (const BatchTime& t : v)
    s += t.*part;
  return s;
}

std::vector<double> Totals(const std::vector<BatchTime>& v) {
  std::vector<double> out;
  for (const BatchTime& t : v)
    out.push_back(t.total);
  return out;
}

int Main(int argc, char** argv) {
  std::string events = Flag(argc, argv, "--events", "");
  std::string tmp = Flag(argc, argv, "--tmp", "");
  if (events.empty() || tmp.empty()) Die("usage: bench_erase --events FILE --tmp DIR");
  const size_t erase_count = std::stoul(Flag(argc, argv, "--erase", "10000"));
  const size_t batch = std::stoul(Flag(argc, argv, "--batch", "1000"));
  const size_t hold = std::stoul(Flag(argc, argv, "--hold", "5000"));
  const int runs = std::atoi(Flag(argc, argv, "--runs", "3").c_str());
  const uint64_t seed = std::stoull(Flag(argc, argv, "--seed", "20261129"));
  if (batch == 0 || erase_count == 0 || runs < 1) Die("--batch, --erase and --runs must be > 0");
  Workflows w = LoadWorkflows(argc, argv);
  std::vector<std::string> lines = ReadLines(events);
  fs::create_directories(tmp);
  std::printf(
      "erase: %zu lines, %zu held back as ordinary batches; erasing %zu closed cases in "
      "batches of %zu (seed %" PRIu64 ")\n",
      lines.size(), hold, erase_count, batch, seed);

  std::vector<double> erase_rates, ordinary_rates, purge_shares, keys_shares, erase_batch,
      ordinary_batch;
  for (int r = 0; r < runs; ++r) {
    RunResult res = OneRun(w, lines, tmp, erase_count, batch, hold, seed);
    const double total = Sum(res.erase, &BatchTime::total);
    const double commit = Sum(res.erase, &BatchTime::commit);
    const double keys = Sum(res.erase, &BatchTime::keys);
    const double purge = Sum(res.erase, &BatchTime::purge);
    const double ordinary_total = Sum(res.ordinary, &BatchTime::total);
    const double ordinary_inputs = static_cast<double>(res.ordinary.size() * batch);
    erase_rates.push_back(static_cast<double>(erase_count) / total);
    ordinary_rates.push_back(ordinary_inputs / ordinary_total);
    purge_shares.push_back(purge / total);
    keys_shares.push_back(keys / total);
    erase_batch.push_back(Median(Totals(res.erase)));
    ordinary_batch.push_back(Median(Totals(res.ordinary)));
    std::printf("erase: run %d: build %.1fs, %" PRIu64 " cases, %" PRIu64
                " closed; %zu ordinary batches (%.0f bytes/input) median %.3fs; %zu erasure "
                "batches (%.0f bytes/input) median %.3fs\n",
                r, res.build_seconds, res.cases, res.closed, res.ordinary.size(),
                res.ordinary_bytes, ordinary_batch.back(), res.erase.size(), res.erase_bytes,
                erase_batch.back());
    for (size_t b = 0; b < res.erase.size(); ++b) {
      const BatchTime& t = res.erase[b];
      std::printf(
          "erase: run %d batch %zu: %.3fs = process %.3f + commit %.3f + keys destroyed "
          "%.3f + store purged %.3f\n",
          r, b, t.total, t.process(), t.commit, t.keys, t.purge);
    }
    std::printf(
        "erase: run %d: %zu erasures in %.2fs (%.0f/s): process %.0f %%, commit %.0f %%, "
        "keys destroyed %.0f %%, store purged %.0f %%; ordinary %.0f inputs/s\n",
        r, erase_count, total, erase_rates.back(), 100 * (total - commit - keys - purge) / total,
        100 * commit / total, 100 * keys / total, 100 * purge / total, ordinary_rates.back());
  }
  std::printf(
      "erase: median batch of %zu: erasures %.3fs, ordinary inputs %.3fs (ratio %.2f); "
      "share of the erasure time in the store's purge %.0f %%, in KeyStore::Destroy "
      "%.0f %% (medians of %d runs)\n",
      batch, Median(erase_batch), Median(ordinary_batch),
      Median(erase_batch) / Median(ordinary_batch), 100 * Median(purge_shares),
      100 * Median(keys_shares), runs);
  Report("erase_per_s", Median(erase_rates), "erasures/s", Median(ordinary_rates));
  fs::remove_all(tmp + "/store");
  fs::remove_all(tmp + "/store.keys");
  return 0;
}

}  // namespace
}  // namespace amtsweg::bench

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);  // dead letters are logged at info
  return amtsweg::bench::Main(argc, argv);
}
