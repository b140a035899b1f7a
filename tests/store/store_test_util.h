// Helpers shared by the store tests: the store in a temporary directory, an in-memory model of the
// store's semantics (with independently computed chain hashes), a seeded batch generator and a
// canonical text dump of a store's contents, so that "store == model" is one string compare.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/common/hash.h"
#include "engine/store/store.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::store::testing {

// A temporary directory (tests/testing/temp_dir.h) with the store's path in it.
class TempDir : public ::amtsweg::testing::TempDir {
 public:
  TempDir() : ::amtsweg::testing::TempDir("amtsweg-store") {}
  std::string db() const { return path() + "/db"; }
};

inline std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

// Chain link computed without ChainHash: SHA-256 over the 32 previous bytes and the event.
inline Digest IndependentLink(const Digest& previous, std::string_view event) {
  std::string joined(reinterpret_cast<const char*>(previous.data()), previous.size());
  joined.append(event);
  return Sha256(joined);
}

// Which seen ids and position sources a dump probes (neither can be listed by the API).
struct Probes {
  std::vector<std::string> seen_ids;
  std::vector<std::string> sources;
};

// Canonical text of everything readable through the Store API.
inline std::string DumpStore(const Store& store, const Probes& probes) {
  std::string out;
  auto fail = [&](const Status& s) { out += "ERROR " + s.ToString() + "\n"; };
  Status s = store.ScanCases([&](std::string_view id, const CaseRecord& r) {
    out += "case " + Hex(id) + " last=" + std::to_string(r.last_seq) + " head=" + ToHex(r.head) +
           " snap=" + Hex(r.snapshot) + "\n";
    Status es =
        store.ScanEvents(id, 0, std::numeric_limits<uint64_t>::max(), [&](const EventRecord& e) {
          out += "  event " + std::to_string(e.seq) + " " + Hex(e.payload) + " " + ToHex(e.hash) +
                 "\n";
          return true;
        });
    if (!es.ok()) fail(es);
    return true;
  });
  if (!s.ok()) fail(s);
  s = store.ScanIndex("", [&](std::string_view key) {
    out += "index " + Hex(key) + "\n";
    return true;
  });
  if (!s.ok()) fail(s);
  s = store.DueTimers(std::numeric_limits<Timestamp>::max(), [&](const Timer& t) {
    out += "timer " + std::to_string(t.due) + " " + Hex(t.case_id) + " " + Hex(t.name) + "\n";
    return true;
  });
  if (!s.ok()) fail(s);
  s = store.ScanOutbox([&](const OutboxEntry& e) {
    out += "outbox " + std::to_string(e.seq) + " " + Hex(e.destination) + " " + Hex(e.key) + " " +
           Hex(e.id) + " " + Hex(e.payload) + "\n";
    return true;
  });
  if (!s.ok()) fail(s);
  s = store.ScanDeadLetters([&](const DeadLetter& d) {
    out += "dead " + std::to_string(d.seq) + " " + std::to_string(d.at) + " " + Hex(d.source) +
           " " + Hex(d.position) + " " + Hex(d.kind) + " " + Hex(d.reason) + " " + Hex(d.raw) +
           "\n";
    return true;
  });
  if (!s.ok()) fail(s);
  for (const std::string& id : probes.seen_ids) {
    Result<bool> seen = store.Seen(id);
    if (!seen.ok()) fail(seen.status());
    if (seen.ok() && *seen) out += "seen " + Hex(id) + "\n";
  }
  for (const std::string& source : probes.sources) {
    Result<std::optional<std::string>> pos = store.GetPosition(source);
    if (!pos.ok()) fail(pos.status());
    if (pos.ok() && pos->has_value()) out += "pos " + Hex(source) + " " + Hex(**pos) + "\n";
  }
  Result<std::optional<Timestamp>> clock = store.GetClock();
  if (!clock.ok()) fail(clock.status());
  if (clock.ok() && clock->has_value()) out += "clock " + std::to_string(**clock) + "\n";
  return out;
}

// The store's semantics in memory.
class Model {
 public:
  void Apply(const Batch& b) {
    for (const CaseWrite& cw : b.cases) {
      auto& events = events_[cw.case_id];
      for (const std::string& e : cw.events)
        events.push_back(e);
      snapshots_[cw.case_id] = cw.snapshot;
      for (const std::string& k : cw.index_remove)
        index_.erase(k);
      for (const std::string& k : cw.index_add)
        index_.insert(k);
    }
    for (const Timer& t : b.timers_remove)
      timers_.erase({t.due, t.case_id, t.name});
    for (const Timer& t : b.timers_add)
      timers_.insert({t.due, t.case_id, t.name});
    for (const OutboxEntry& e : b.outbox) {
      OutboxEntry copy = e;
      copy.seq = ++outbox_seq_;
      outbox_[copy.seq] = copy;
    }
    for (const DeadLetter& d : b.dead) {
      DeadLetter copy = d;
      copy.seq = ++dead_seq_;
      dead_[copy.seq] = copy;
    }
    for (const std::string& id : b.seen_ids)
      seen_.insert(id);
    for (const auto& [source, position] : b.positions)
      positions_[source] = position;
    if (b.clock.has_value()) clock_ = b.clock;
  }
  void DeleteOutbox(const std::vector<uint64_t>& seqs) {
    for (uint64_t s : seqs)
      outbox_.erase(s);
  }
  // The expected chain head of a case, computed independently of the store.
  Digest Head(const std::string& case_id) const {
    Digest h = kGenesisDigest;
    auto it = events_.find(case_id);
    if (it != events_.end()) {
      for (const std::string& e : it->second)
        h = IndependentLink(h, e);
    }
    return h;
  }
  std::vector<std::string> CaseIds() const {
    std::vector<std::string> ids;
    for (const auto& [id, snap] : snapshots_)
      ids.push_back(id);
    return ids;
  }
  uint64_t outbox_seq() const { return outbox_seq_; }
  uint64_t dead_seq() const { return dead_seq_; }

  std::string Dump(const Probes& probes) const {
    std::string out;
    for (const auto& [id, snap] : snapshots_) {
      const auto& events = events_.at(id);
      out += "case " + Hex(id) + " last=" + std::to_string(events.size()) +
             " head=" + ToHex(Head(id)) + " snap=" + Hex(snap) + "\n";
      Digest h = kGenesisDigest;
      for (size_t i = 0; i < events.size(); ++i) {
        h = IndependentLink(h, events[i]);
        out += "  event " + std::to_string(i + 1) + " " + Hex(events[i]) + " " + ToHex(h) + "\n";
      }
    }
    for (const std::string& k : index_)
      out += "index " + Hex(k) + "\n";
    for (const auto& [due, id, name] : timers_) {
      out += "timer " + std::to_string(due) + " " + Hex(id) + " " + Hex(name) + "\n";
    }
    for (const auto& [seq, e] : outbox_) {
      out += "outbox " + std::to_string(seq) + " " + Hex(e.destination) + " " + Hex(e.key) + " " +
             Hex(e.id) + " " + Hex(e.payload) + "\n";
    }
    for (const auto& [seq, d] : dead_) {
      out += "dead " + std::to_string(seq) + " " + std::to_string(d.at) + " " + Hex(d.source) +
             " " + Hex(d.position) + " " + Hex(d.kind) + " " + Hex(d.reason) + " " + Hex(d.raw) +
             "\n";
    }
    for (const std::string& id : probes.seen_ids) {
      if (seen_.count(id)) out += "seen " + Hex(id) + "\n";
    }
    for (const std::string& source : probes.sources) {
      auto it = positions_.find(source);
      if (it != positions_.end()) out += "pos " + Hex(source) + " " + Hex(it->second) + "\n";
    }
    if (clock_.has_value()) out += "clock " + std::to_string(*clock_) + "\n";
    return out;
  }

 private:
  std::map<std::string, std::vector<std::string>> events_;
  std::map<std::string, std::string> snapshots_;
  std::set<std::string> index_;
  std::set<std::tuple<Timestamp, std::string, std::string>> timers_;
  std::map<uint64_t, OutboxEntry> outbox_;
  std::map<uint64_t, DeadLetter> dead_;
  std::set<std::string> seen_;
  std::map<std::string, std::string> positions_;
  std::optional<Timestamp> clock_;
  uint64_t outbox_seq_ = 0;
  uint64_t dead_seq_ = 0;
};

// Seeded random batches over small pools of ids, so batches touch the same cases, index keys
// and timers again (including the same case twice in one batch, and binary bytes everywhere).
class BatchGenerator {
 public:
  explicit BatchGenerator(uint64_t seed) : rng_(seed) {}

  static Probes PoolProbes() {
    Probes p;
    for (int i = 0; i < 12; ++i)
      p.seen_ids.push_back(SeenId(i));
    for (int i = 0; i < 3; ++i)
      p.sources.push_back(Source(i));
    return p;
  }

  Batch Next() {
    Batch b;
    const int n_cases = Pick(0, 3);
    for (int i = 0; i < n_cases; ++i) {
      CaseWrite cw;
      cw.case_id = CaseId(Pick(0, 4));
      const int n_events = Pick(0, 4);
      for (int e = 0; e < n_events; ++e)
        cw.events.push_back(Bytes(Pick(0, 40)));
      cw.snapshot = Bytes(Pick(0, 30));
      if (Pick(0, 1)) cw.index_add.push_back(IndexKey(Pick(0, 7)));
      if (Pick(0, 1)) cw.index_remove.push_back(IndexKey(Pick(0, 7)));
      b.cases.push_back(std::move(cw));
    }
    for (int i = Pick(0, 2); i > 0; --i)
      b.timers_add.push_back(RandomTimer());
    for (int i = Pick(0, 2); i > 0; --i)
      b.timers_remove.push_back(RandomTimer());
    for (int i = Pick(0, 2); i > 0; --i) {
      b.outbox.push_back(OutboxEntry{0,
                                     "org:" + std::to_string(Pick(0, 3)),
                                     CaseId(Pick(0, 4)),
                                     "id/" + std::to_string(counter_++),
                                     Bytes(Pick(0, 50)),
                                     {},
                                     0,
                                     0});
    }
    for (int i = Pick(0, 1); i > 0; --i) {
      b.dead.push_back(DeadLetter{0,
                                  Pick(0, 100000),
                                  Source(Pick(0, 2)),
                                  "line " + std::to_string(counter_++),
                                  "malformed: bad input",
                                  Bytes(20),
                                  Pick(0, 1) == 0 ? "malformed" : "",
                                  {}});
    }
    for (int i = Pick(0, 2); i > 0; --i)
      b.seen_ids.push_back(SeenId(Pick(0, 11)));
    for (int i = Pick(0, 1); i > 0; --i) {
      b.positions.emplace_back(Source(Pick(0, 2)), std::to_string(counter_++));
    }
    // The engine clock, moving forward (or staying) in some batches.
    if (Pick(0, 2) == 0) {
      clock_ += Pick(0, 1) * Pick(1, 86400000);
      b.clock = clock_;
    }
    if (b.empty()) b.seen_ids.push_back(SeenId(0));  // every batch writes something
    return b;
  }

  int Pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

 private:
  static std::string CaseId(int i) {
    static const char* kIds[] = {"c-1", "c-2", "fall/\xc3\xbc\xff", "c 1", "c-10"};
    return kIds[i];
  }
  static std::string IndexKey(int i) { return std::string("wf\0state/", 9) + std::to_string(i); }
  static std::string SeenId(int i) { return "in-" + std::to_string(i); }
  static std::string Source(int i) { return "file:s" + std::to_string(i) + ".jsonl"; }
  std::string Bytes(int n) {
    std::string s;
    for (int i = 0; i < n; ++i)
      s.push_back(static_cast<char>(Pick(0, 255)));
    return s;
  }
  Timer RandomTimer() {
    return Timer{Pick(0, 5) * 1000, CaseId(Pick(0, 4)),
                 Pick(0, 1) ? "frist" : std::string("a\0b", 3)};
  }

  std::mt19937_64 rng_;
  int counter_ = 0;
  Timestamp clock_ = 0;  // the last clock a batch carried
};

}  // namespace amtsweg::store::testing
