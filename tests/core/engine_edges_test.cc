// The engine at its edges: event-time lanes and per-case deadlines, replayed inputs, the audit
// stream, the dead-letter destination, positions reported after delivery, backpressure, sink
// failures and settling.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/common/hash.h"
#include "engine/core/cloudevent.h"
#include "engine/core/engine.h"
#include "tests/runtime/test_workflow.h"
#include "tests/testing/fixed_clock.h"
#include "tests/testing/memory_sink.h"
#include "tests/testing/memory_source.h"
#include "tests/testing/seed.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

using amtsweg::testing::Application;
using amtsweg::testing::LaneSource;
using amtsweg::testing::MemoryInput;
using amtsweg::testing::MemorySink;
using amtsweg::testing::TempDir;
using std::chrono::milliseconds;

constexpr Timestamp kHour = 3600 * 1000;
constexpr Timestamp kDay = 24 * kHour;

Timestamp At(std::string_view text) {
  Result<Timestamp> t = ParseTimestamp(text);
  EXPECT_TRUE(t.ok()) << text;
  return t.ok() ? *t : 0;
}

std::string Event(std::string id, std::string_view type, std::string subject, Timestamp time,
                  Value data = Value::Object({}), std::string participant = "") {
  ObjectBuilder b;
  b.Add("specversion", "1.0").Add("id", std::move(id)).Add("source", "test");
  b.Add("type", type).Add("subject", std::move(subject)).Add("time", FormatTimestamp(time));
  if (!participant.empty()) b.Add("participant", std::move(participant));
  b.Add("data", std::move(data));
  return b.Build().ToJson();
}

// The test workflow's steps, for a case in Kiel (AGS 01002000).
std::string Submit(std::string id, std::string c, Timestamp t) {
  return Event(std::move(id), runtime::input_type::kApplicationSubmitted, std::move(c), t,
               Application("01002000"));
}
std::string Complete(std::string id, std::string c, Timestamp t) {
  return Event(std::move(id), runtime::input_type::kDocumentsCompleted, std::move(c), t,
               Value::Object({}), "amt-kiel");
}
std::string Hearing(std::string id, std::string c, Timestamp t) {
  return Event(std::move(id), runtime::input_type::kTaskResponded, std::move(c), t,
               ObjectBuilder().Add("task", "hearing").Build(), "ihk-kiel");
}
std::string Approve(std::string id, std::string c, Timestamp t) {
  return Event(std::move(id), runtime::input_type::kTaskResponded, std::move(c), t,
               ObjectBuilder().Add("task", "decision").Add("decision", "approved").Build(),
               "amt-kiel");
}
// Issued only for a deemed approval; refused (input.rejected) while the case is open.
std::string Certificate(std::string id, std::string c, Timestamp t) {
  return Event(std::move(id), runtime::input_type::kCertificateRequested, std::move(c), t,
               Value::Object({}), "amt-kiel");
}

RawInput Raw(std::string bytes, std::string where, uint32_t lane = 0) {
  RawInput r;
  r.bytes = std::move(bytes);
  r.size = r.bytes.size();
  r.where = std::move(where);
  r.lane = lane;
  return r;
}

std::vector<store::EventRecord> Records(const store::Store& st, const std::string& case_id) {
  std::vector<store::EventRecord> out;
  Status s = st.ScanEvents(case_id, 1, UINT64_MAX, [&](const store::EventRecord& r) {
    out.push_back(r);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<runtime::DomainEvent> Log(const store::Store& st, const std::string& case_id) {
  std::vector<runtime::DomainEvent> out;
  for (const store::EventRecord& r : Records(st, case_id)) {
    Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    if (e.ok()) out.push_back(std::move(e).value());
  }
  return out;
}

std::vector<std::string> Types(const std::vector<runtime::DomainEvent>& log) {
  std::vector<std::string> out;
  for (const runtime::DomainEvent& e : log)
    out.emplace_back(runtime::DomainTypeName(e.type));
  return out;
}

// Index of the first event of `type` in `log`, or -1.
int IndexOf(const std::vector<runtime::DomainEvent>& log, runtime::DomainType type) {
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].type == type) return static_cast<int>(i);
  }
  return -1;
}

// Every case's log: one line per event with seq, time, type, cause and data.
std::map<std::string, std::vector<std::string>> AllLogs(const store::Store& st) {
  std::vector<std::string> ids;
  Status s = st.ScanCases([&](std::string_view id, const store::CaseRecord&) {
    ids.emplace_back(id);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  std::map<std::string, std::vector<std::string>> out;
  for (const std::string& id : ids) {
    for (const runtime::DomainEvent& e : Log(st, id))
      out[id].push_back(runtime::EventToValue(e).ToJson());
  }
  return out;
}

std::vector<store::OutboxEntry> Outbox(const store::Store& st) {
  std::vector<store::OutboxEntry> out;
  Status s = st.ScanOutbox([&](const store::OutboxEntry& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

uint64_t OutboxSize(const store::Store& st) {
  Result<uint64_t> n = st.OutboxSize();
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : UINT64_MAX;
}

std::vector<store::DeadLetter> DeadLetters(const store::Store& st) {
  std::vector<store::DeadLetter> out;
  Status s = st.ScanDeadLetters([&](const store::DeadLetter& d) {
    out.push_back(d);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::string Header(const OutboundMessage& e, std::string_view name) {
  for (const auto& [k, v] : e.headers) {
    if (k == name) return v;
  }
  return "<no header " + std::string(name) + ">";
}

std::map<std::string, std::string> AsMap(const Positions& positions) {
  return {positions.begin(), positions.end()};
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

class EngineEdges : public ::testing::Test {
 protected:
  amtsweg::testing::TestWorld world;
  TempDir dir;

  // Opens (creating) the store `name` under this test's directory.
  std::unique_ptr<store::Store> OpenStore(const std::string& name = "db") {
    auto st = store::Store::Open(dir.path() + "/" + name);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return st.ok() ? std::move(st).value() : nullptr;
  }

  std::unique_ptr<Engine> NewEngine(store::Store& st, EventClock clock,
                                    EngineOptions options = {}) {
    auto engine = std::make_unique<Engine>(st, world.registry, *world.directory, std::move(clock),
                                           std::move(options));
    Status s = engine->Open();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return engine;
  }

  static runtime::CaseState Case(Engine& engine, const std::string& id) {
    Result<std::optional<runtime::CaseState>> s = engine.LoadCase(id);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_TRUE(s.ok() && s->has_value()) << "no case " << id;
    return s.ok() && s->has_value() ? **s : runtime::CaseState{};
  }
};

RunOptions Batches(size_t batch_size, uint64_t max_batches, bool until_caught_up) {
  RunOptions o;
  o.batch_size = batch_size;
  o.poll_wait = milliseconds(0);
  o.max_batches = max_batches;
  o.until_caught_up = until_caught_up;
  return o;
}

// C-1 is completed at 2026-01-15T10:00Z; its three-month deadline ends with 15 April, 24:00
// German summer time.
constexpr char kC1Due[] = "2026-04-15T22:00:00Z";

// ---------------------------------------------------------------------------------------------
// 1. Lanes bound the event-time clock.

std::vector<MemoryInput> LaneClockLines(bool lane1_reads_past_due) {
  std::vector<MemoryInput> lines = {
      {0, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))},
      {0, Complete("c1", "C-1", At("2026-01-15T10:00:00Z"))},
      {1, Submit("s3", "C-3", At("2026-02-01T09:00:00Z"))},
      // Lane 0 reads far past C-1's deadline; lane 1 has not got there.
      {0, Submit("s2", "C-2", At("2026-05-01T09:00:00Z"))},
  };
  if (lane1_reads_past_due) lines.push_back({1, Submit("s4", "C-4", At("2026-04-20T09:00:00Z"))});
  return lines;
}

TEST_F(EngineEdges, ClockStaysAtTheBusyLaneUntilItReadsPastTheDeadline) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  LaneSource src(LaneClockLines(true));
  src.held = {1};  // lane 1 stays assigned: it may deliver more

  // The first four inputs; lane 1 still has one to read.
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(4, 1, false)).ok());
  EXPECT_EQ(src.delivered, 4u);
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-02-01T09:00:00Z");
  EXPECT_TRUE(Case(*engine, "C-1").open());
  EXPECT_EQ(engine->stats().timers_fired, 0u);

  // Lane 1 reads past the due time: the deadline expires, and the clock follows lane 1 (still
  // busy), not lane 0.
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(1, 1, false)).ok());
  EXPECT_EQ(src.delivered, 5u);
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-04-20T09:00:00Z");
  runtime::CaseState c1 = Case(*engine, "C-1");
  EXPECT_EQ(c1.outcome, "deemed_approved");
  EXPECT_EQ(FormatTimestamp(c1.closed_at), kC1Due);
  EXPECT_EQ(engine->stats().timers_fired, 1u);

  // Lane 1 released: the clock follows the latest time read.
  src.held.clear();
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(10, UINT64_MAX, true)).ok());
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-05-01T09:00:00Z");
}

TEST_F(EngineEdges, DeadlineExpiresOnceTheBusyLaneIsNoLongerBusy) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  LaneSource src(LaneClockLines(false));
  src.held = {1};
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(10, 1, false)).ok());
  EXPECT_EQ(src.delivered, 4u);
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-02-01T09:00:00Z");
  EXPECT_TRUE(Case(*engine, "C-1").open());

  // Nothing more read; lane 1 is no longer busy (e.g. read to its end).
  src.held.clear();
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(10, UINT64_MAX, true)).ok());
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-05-01T09:00:00Z");
  runtime::CaseState c1 = Case(*engine, "C-1");
  EXPECT_EQ(c1.outcome, "deemed_approved");
  EXPECT_EQ(FormatTimestamp(c1.closed_at), kC1Due);
}

// A lane given up for a while (a Kafka partition lost in a rebalance and assigned again) holds
// its cases' timers: the clock follows the lanes still read, but a deadline of a case on the lane
// away must not expire before the input still unread there (here the approval that stops it).
// Before, with no lane busy the clock jumped to the latest time read and expired C-1.
TEST_F(EngineEdges, TimersOfALaneAwayWaitUntilItIsBackAndRead) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  LaneSource src({
      {1, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))},
      {1, Complete("c1", "C-1", At("2026-01-15T10:00:00Z"))},
      {1, Hearing("h1", "C-1", At("2026-01-20T10:00:00Z"))},
      {0, Submit("s2", "C-2", At("2026-05-01T09:00:00Z"))},
      {1, Approve("a1", "C-1", At("2026-04-10T09:00:00Z"))},
  });
  src.case_lanes = {{"C-1", 1}, {"C-2", 0}};
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(3, 1, false)).ok());
  EXPECT_TRUE(Case(*engine, "C-1").open());

  // Lane 1 goes away; lane 0 reads far past C-1's deadline.
  src.unowned = {1};
  ++src.generation;
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(1, 1, false)).ok());
  EXPECT_EQ(src.delivered, 4u);
  EXPECT_EQ(engine->stats().timers_fired, 0u);
  EXPECT_TRUE(Case(*engine, "C-1").open()) << "C-1 expired while its lane was away";

  // Lane 1 is back: the approval comes before the deadline.
  src.unowned.clear();
  ++src.generation;
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(10, UINT64_MAX, true)).ok());
  runtime::CaseState c1 = Case(*engine, "C-1");
  EXPECT_EQ(c1.outcome, "approved");
  EXPECT_EQ(engine->stats().timers_fired, 0u);
  EXPECT_EQ(engine->stats().rejected, 0u);
}

// An unkeyed input whose case belongs to another lane is misrouted: its timers would fire where
// the case's lane is read, not where it was stored.
TEST_F(EngineEdges, UnkeyedInputOnAnotherLaneThanItsCaseIsMisrouted) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  LaneSource src({{0, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))},
                  {1, Submit("s2", "C-2", At("2026-01-15T09:00:00Z"))}});
  src.case_lanes = {{"C-1", 1}, {"C-2", 1}};
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(10, UINT64_MAX, true)).ok());
  EXPECT_EQ(engine->stats().rejected, 1u);
  Result<std::optional<runtime::CaseState>> c1 = engine->LoadCase("C-1");
  ASSERT_TRUE(c1.ok());
  EXPECT_FALSE(c1->has_value());
  EXPECT_TRUE(Case(*engine, "C-2").open());
  std::vector<std::string> reasons;
  ASSERT_TRUE(st->ScanDeadLetters([&](const store::DeadLetter& d) {
                  reasons.push_back(d.reason);
                  return true;
                }).ok());
  ASSERT_EQ(reasons.size(), 1u);
  EXPECT_NE(reasons[0].find("misrouted: unkeyed event of case 'C-1' on lane 0"), std::string::npos)
      << reasons[0];
}

// ---------------------------------------------------------------------------------------------
// 2. A case's log does not depend on how the lanes interleave.

struct TimedLine {
  Timestamp time = 0;
  MemoryInput line;
};

// Sixteen cases on two lanes, one every nine days from 5 January 2026, each completed an hour
// after submission (deadline about three months later), then one of: approved well before the
// deadline; heard, then a decision and a certificate request after it; nothing (expires when the
// clock passes); a certificate request before (refused) and after (issued) the deadline.
std::vector<TimedLine> InterleavingScenario() {
  std::mt19937 rng(20260105);  // the scenario is fixed; the interleavings vary
  std::vector<TimedLine> all;
  Timestamp start = At("2026-01-05T08:00:00Z");
  for (int i = 0; i < 16; ++i) {
    uint32_t lane = rng() % 2;
    std::string c = "C-" + std::to_string(i);
    Timestamp base = start + i * 9 * kDay;
    auto add = [&](Timestamp t, std::string bytes) {
      all.push_back({t, {lane, std::move(bytes)}});
    };
    add(base, Submit("s" + c, c, base));
    add(base + kHour, Complete("c" + c, c, base + kHour));
    switch (rng() % 4) {
      case 0:
        add(base + 10 * kDay, Hearing("h" + c, c, base + 10 * kDay));
        add(base + 20 * kDay, Approve("a" + c, c, base + 20 * kDay));
        break;
      case 1:
        add(base + 10 * kDay, Hearing("h" + c, c, base + 10 * kDay));
        add(base + 100 * kDay, Approve("a" + c, c, base + 100 * kDay));
        add(base + 101 * kDay, Certificate("k" + c, c, base + 101 * kDay));
        break;
      case 2:
        break;
      default:
        add(base + 30 * kDay, Certificate("k1" + c, c, base + 30 * kDay));
        add(base + 100 * kDay, Certificate("k2" + c, c, base + 100 * kDay));
        break;
    }
  }
  return all;
}

// Runs `lines` (in this read order) through a fresh store at `path`, polling batches of
// `batch_size()` inputs; returns every case's log.
std::map<std::string, std::vector<std::string>> RunLanes(const std::string& path,
                                                         amtsweg::testing::TestWorld& world,
                                                         std::vector<MemoryInput> lines,
                                                         std::function<size_t()> batch_size) {
  auto st = store::Store::Open(path);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  if (!st.ok()) return {};
  ManualClock clock;
  Engine engine(**st, world.registry, *world.directory, clock);
  EXPECT_TRUE(engine.Open().ok());
  LaneSource src(std::move(lines));
  src.next_batch_size = std::move(batch_size);
  Status s = engine.Run(src, nullptr, Batches(1000, UINT64_MAX, true));
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(src.CaughtUp()) << "source not read to its end";
  return AllLogs(**st);
}

// "seq type time cause" of each event of a log from AllLogs, for failure messages.
std::string Compact(const std::vector<std::string>& log) {
  std::string out;
  for (const std::string& line : log) {
    Result<Value> v = Value::ParseJson(line);
    if (!v.ok()) return "<bad log line>";
    out += "\n    " + std::to_string((*v)["seq"].as_int()) + " " + (*v)["type"].as_string() + " " +
           (*v)["time"].as_string() + " " + (*v)["cause"].as_string();
  }
  return out;
}

// Found that a lane read to its end within a batch released the clock too early (seeds 2, 3, 6);
// LaneReadToItsEndInABatchStillHoldsTheClock is that case on its own.
TEST_F(EngineEdges, CaseLogDoesNotDependOnLaneInterleaving) {
  // Everything in global time order; each lane is then in its own time order.
  std::vector<TimedLine> by_time = InterleavingScenario();
  std::stable_sort(by_time.begin(), by_time.end(),
                   [](const TimedLine& a, const TimedLine& b) { return a.time < b.time; });
  std::vector<MemoryInput> lanes[2];
  for (const TimedLine& t : by_time)
    lanes[t.line.lane].push_back(t.line);
  ASSERT_FALSE(lanes[0].empty());
  ASSERT_FALSE(lanes[1].empty());

  // Reference: global time order, one input per batch.
  std::vector<MemoryInput> reference_order;
  for (const TimedLine& t : by_time)
    reference_order.push_back(t.line);
  auto reference =
      RunLanes(dir.path() + "/reference", world, reference_order, [] { return size_t{1}; });
  ASSERT_EQ(reference.size(), 16u);
  // The scenario does what it is meant to: deadlines expire, certificates are issued and
  // refused, cases are approved.
  std::map<std::string, int> types;
  for (const auto& [id, log] : reference) {
    for (const std::string& line : log) {
      Result<Value> v = Value::ParseJson(line);
      ASSERT_TRUE(v.ok());
      types[(*v)["type"].as_string()]++;
    }
  }
  EXPECT_GT(types["deadline.expired"], 2) << ::testing::PrintToString(types);
  EXPECT_GT(types["deadline.cancelled"], 0) << ::testing::PrintToString(types);
  EXPECT_GT(types["certificate.issued"], 1) << ::testing::PrintToString(types);
  EXPECT_GT(types["input.rejected"], 0) << ::testing::PrintToString(types);

  std::vector<uint64_t> seeds = {1, 2, 3, 4, 5, 6};
  if (std::optional<uint64_t> fixed = amtsweg::testing::SeedFromEnvironment()) seeds = {*fixed};
  for (uint64_t seed : seeds) {
    SCOPED_TRACE("interleaving seed " + std::to_string(seed) +
                 " (AMTSWEG_TEST_SEED=" + std::to_string(seed) + " repeats it)");
    amtsweg::testing::PrintSeed(seed);
    std::mt19937 rng(static_cast<uint32_t>(seed));
    std::vector<MemoryInput> order;
    size_t next[2] = {0, 0};
    // In bursts, as a consumer fetches: one lane may run far ahead of the other in time.
    while (next[0] < lanes[0].size() || next[1] < lanes[1].size()) {
      uint32_t lane = next[0] == lanes[0].size() ? 1 : next[1] == lanes[1].size() ? 0 : rng() % 2;
      for (size_t run = 1 + rng() % 16; run > 0 && next[lane] < lanes[lane].size(); --run)
        order.push_back(lanes[lane][next[lane]++]);
    }
    auto logs = RunLanes(dir.path() + "/seed-" + std::to_string(seed), world, order,
                         [&rng] { return size_t{1} + rng() % 8; });
    ASSERT_EQ(logs.size(), reference.size());
    for (const auto& [id, log] : reference) {
      EXPECT_TRUE(logs[id] == log) << "case " << id << " differs\n  in time order: " << Compact(log)
                                   << "\n  interleaved:   " << Compact(logs[id]);
    }
  }
}

// A lane read to its end within a batch stays busy until its last input there is handled;
// otherwise another lane's later input in the same batch (or a later time read on another lane
// before) would move the clock past a deadline before this lane's earlier inputs reach the case.
TEST_F(EngineEdges, LaneReadToItsEndInABatchStillHoldsTheClock) {
  for (bool same_batch : {true, false}) {
    SCOPED_TRACE(same_batch ? "lane 1 read in the same batch" : "lane 1 read in an earlier batch");
    TempDir d;
    auto st = store::Store::Open(d.path() + "/db");
    ASSERT_TRUE(st.ok());
    ManualClock clock;
    auto engine = NewEngine(**st, clock);
    std::vector<RawInput> first = {
        Raw(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")), "lane 0 #1", 0),
        Raw(Complete("c1", "C-1", At("2026-01-15T10:00:00Z")), "lane 0 #2", 0)};
    // Lane 1 (C-2) is far ahead in time, past C-1's deadline; lane 0 approves C-1 in time.
    RawInput ahead = Raw(Submit("s2", "C-2", At("2026-05-01T09:00:00Z")), "lane 1 #1", 1);
    std::vector<RawInput> rest = {
        Raw(Hearing("h1", "C-1", At("2026-02-01T09:00:00Z")), "lane 0 #3", 0),
        Raw(Approve("a1", "C-1", At("2026-02-02T09:00:00Z")), "lane 0 #4", 0)};
    if (same_batch) {
      // Lane 0 still has input: busy.
      ASSERT_TRUE(engine->ProcessBatch(first, "lanes", {}, {0, 1}).ok());
      // One poll returns lane 1's message, then lane 0's; both lanes are then read to their end.
      std::vector<RawInput> batch = {ahead};
      batch.insert(batch.end(), rest.begin(), rest.end());
      ASSERT_TRUE(engine->ProcessBatch(batch, "lanes", {}, {}).ok());
    } else {
      first.push_back(ahead);
      // Lane 0 has more to read: busy, the clock stays at its time.
      ASSERT_TRUE(engine->ProcessBatch(first, "lanes", {}, {0}).ok());
      EXPECT_EQ(FormatTimestamp(engine->now()), "2026-01-15T10:00:00Z");
      ASSERT_TRUE(engine->ProcessBatch(rest, "lanes", {}, {}).ok());
    }
    // In time order C-1 is approved on 2 February; its deadline never expires.
    EXPECT_EQ(Case(*engine, "C-1").outcome, "approved")
        << ::testing::PrintToString(Types(Log(**st, "C-1")));
    EXPECT_EQ(IndexOf(Log(**st, "C-1"), runtime::DomainType::kDeadlineExpired), -1);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. A case's own deadlines expire before its later input, even when the clock may not move.

TEST_F(EngineEdges, CaseDeadlineExpiresBeforeALaterInputForThatCase) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  // Lane 9 is busy and has read nothing: its next input may be of any time, so the clock stays.
  const std::vector<uint32_t> busy = {9};
  std::vector<RawInput> opening = {
      Raw(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")), "#1"),
      Raw(Complete("c1", "C-1", At("2026-01-15T10:00:00Z")), "#2"),
      Raw(Submit("s2", "C-2", At("2026-01-10T09:00:00Z")), "#3"),
      Raw(Complete("c2", "C-2", At("2026-01-10T10:00:00Z")), "#4"),
  };
  ASSERT_TRUE(engine->ProcessBatch(opening, "memory", {{"memory", "4"}}, busy).ok());
  EXPECT_EQ(engine->now(), 0);
  size_t before = Log(*st, "C-1").size();

  // A certificate request for C-1 after its deadline: the deadline expires first, so the
  // certificate is issued (while the case was open it would be refused).
  std::vector<RawInput> late = {Raw(Certificate("k1", "C-1", At("2026-05-01T09:00:00Z")), "#5")};
  ASSERT_TRUE(engine->ProcessBatch(late, "memory", {{"memory", "5"}}, busy).ok());
  EXPECT_EQ(engine->now(), 0) << "the clock moved although lane 9 read nothing";

  std::vector<runtime::DomainEvent> log = Log(*st, "C-1");
  ASSERT_GT(log.size(), before);
  std::vector<std::string> types = Types(log);
  std::vector<std::string> added(types.begin() + static_cast<long>(before), types.end());
  EXPECT_EQ(added, (std::vector<std::string>{"deadline.expired", "state.entered", "case.closed",
                                             "certificate.issued"}));
  int expired = IndexOf(log, runtime::DomainType::kDeadlineExpired);
  int issued = IndexOf(log, runtime::DomainType::kCertificateIssued);
  ASSERT_GE(expired, 0);
  ASSERT_GE(issued, 0);
  EXPECT_LT(expired, issued);
  EXPECT_EQ(FormatTimestamp(log[expired].time), kC1Due);
  EXPECT_EQ(FormatTimestamp(log[issued].time), "2026-05-01T09:00:00Z");
  EXPECT_EQ(IndexOf(log, runtime::DomainType::kInputRejected), -1);
  for (size_t i = 0; i < log.size(); ++i)
    EXPECT_EQ(log[i].seq, i + 1);
  EXPECT_EQ(Case(*engine, "C-1").outcome, "deemed_approved");

  // C-2's deadline (10 April) is due by that time too, but no input of C-2 came: it waits for
  // the clock.
  EXPECT_TRUE(Case(*engine, "C-2").open());
  EXPECT_EQ(IndexOf(Log(*st, "C-2"), runtime::DomainType::kDeadlineExpired), -1);
  EXPECT_EQ(engine->stats().timers_fired, 1u);
  std::vector<std::string> timers;
  ASSERT_TRUE(st->DueTimers(INT64_MAX, [&](const store::Timer& t) {
                  timers.push_back(t.case_id + " " + t.name);
                  return true;
                }).ok());
  EXPECT_EQ(timers, std::vector<std::string>{"C-2 fiction"});
}

// ---------------------------------------------------------------------------------------------
// 4. Replayed inputs rebuild the case without publishing.

EngineOptions PublishingEverything() {
  EngineOptions o;
  o.audit_destination = "audit";
  o.dead_letter_destination = "dlq";
  return o;
}

std::vector<RawInput> ReplayInputs(bool replay) {
  std::vector<RawInput> in = {
      Raw(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")), "#1"),
      Raw(Complete("c1", "C-1", At("2026-01-15T10:00:00Z")), "#2"),
      Raw("{broken", "#3"),
      Raw(Submit("s2", "C-2", At("2026-01-16T09:00:00Z")), "#4"),
  };
  for (RawInput& r : in)
    r.replay = replay;
  return in;
}

TEST_F(EngineEdges, ReplayedInputsChangeTheCaseButPublishNothing) {
  auto st = OpenStore("replayed");
  ManualClock clock;
  auto engine = NewEngine(*st, clock, PublishingEverything());
  MemorySink sink;
  ASSERT_TRUE(engine->ProcessBatch(ReplayInputs(true), "memory", {{"memory", "4"}}).ok());
  EXPECT_EQ(engine->stats().replayed, 3u);
  EXPECT_EQ(Case(*engine, "C-1").state, "hearing");
  EXPECT_TRUE(Case(*engine, "C-2").open());
  EXPECT_EQ(DeadLetters(*st).size(), 1u);  // the bad input is still recorded
  EXPECT_EQ(OutboxSize(*st), 0u) << "replayed inputs put entries in the outbox";
  EXPECT_EQ(engine->outbox_backlog(), 0u);
  ASSERT_TRUE(engine->PublishOutbox(sink).ok());
  EXPECT_TRUE(sink.sent.empty()) << sink.sent.size() << " messages published, first "
                                 << sink.sent.front().destination << " " << sink.sent.front().id;

  // Not replayed: the same inputs publish recipient messages, audit references, a dead letter.
  auto fresh_store = OpenStore("fresh");
  auto fresh = NewEngine(*fresh_store, clock, PublishingEverything());
  ASSERT_TRUE(fresh->ProcessBatch(ReplayInputs(false), "memory", {{"memory", "4"}}).ok());
  EXPECT_EQ(fresh->stats().replayed, 0u);
  EXPECT_EQ(AllLogs(*fresh_store), AllLogs(*st)) << "replay rebuilt something else";
  MemorySink fresh_sink;
  ASSERT_TRUE(fresh->PublishOutbox(fresh_sink).ok());
  EXPECT_EQ(fresh_sink.To("amtsweg.org.ihk-kiel").size(), 3u);  // C-1: 2, C-2: 1
  EXPECT_EQ(fresh_sink.To("audit").size(),
            Log(*fresh_store, "C-1").size() + Log(*fresh_store, "C-2").size());
  EXPECT_EQ(fresh_sink.To("dlq").size(), 1u);

  // A new input after the replayed ones publishes its own effects only.
  uint64_t replayed_seq = Case(*engine, "C-1").seq;
  std::vector<RawInput> live = {Raw(Hearing("h1", "C-1", At("2026-02-01T09:00:00Z")), "#5")};
  ASSERT_TRUE(engine->ProcessBatch(live, "memory", {{"memory", "5"}}).ok());
  EXPECT_EQ(engine->stats().replayed, 3u);
  ASSERT_TRUE(engine->PublishOutbox(sink).ok());
  ASSERT_FALSE(sink.sent.empty());
  std::set<std::string> expected_audit;
  for (uint64_t seq = replayed_seq + 1; seq <= Case(*engine, "C-1").seq; ++seq)
    expected_audit.insert("C-1/" + std::to_string(seq));
  std::set<std::string> audit;
  for (const OutboundMessage* e : sink.To("audit"))
    audit.insert(e->id);
  EXPECT_EQ(audit, expected_audit);
  for (const OutboundMessage& e : sink.sent) {
    EXPECT_EQ(e.key, "C-1") << e.id;
    size_t slash = e.id.find('/');
    ASSERT_NE(slash, std::string::npos) << e.id;
    EXPECT_GT(std::stoull(e.id.substr(slash + 1)), replayed_seq) << e.destination << " " << e.id;
  }
}

// A replayed input may move the clock past another case's deadline. That case's inputs were not
// replayed (nobody published them or their consequences before), so the expiry must be published,
// though the replayed input's own effects are not.
TEST_F(EngineEdges, TimerFiredByAReplayedInputsClockIsPublished) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock, PublishingEverything());
  MemorySink sink;
  std::vector<RawInput> live = {
      Raw(Submit("s2", "C-2", At("2026-01-10T09:00:00Z")), "lane 1 #1", 1),
      Raw(Complete("c2", "C-2", At("2026-01-10T10:00:00Z")), "lane 1 #2", 1)};
  ASSERT_TRUE(engine->ProcessBatch(live, "lanes", {}).ok());
  // Lane 0 is replayed (already published by its earlier owner), and is far ahead in time.
  RawInput replayed = Raw(Submit("s1", "C-1", At("2026-05-01T09:00:00Z")), "lane 0 #1", 0);
  replayed.replay = true;
  ASSERT_TRUE(engine->ProcessBatch({replayed}, "lanes", {}).ok());
  ASSERT_EQ(Case(*engine, "C-2").outcome, "deemed_approved");
  ASSERT_TRUE(engine->FlushOutbox(sink, nullptr, std::chrono::seconds(10)).ok());
  std::set<std::string> audit;
  for (const OutboundMessage* e : sink.To("audit"))
    audit.insert(e->id);
  for (const runtime::DomainEvent& e : Log(*st, "C-2")) {
    EXPECT_EQ(audit.count("C-2/" + std::to_string(e.seq)), 1u)
        << "C-2's " << runtime::DomainTypeName(e.type) << " (seq " << e.seq
        << ") never reaches the audit stream";
  }
}

// ---------------------------------------------------------------------------------------------
// 5. The audit stream: one message per domain event, built from the log at publish time.

TEST_F(EngineEdges, AuditStreamCarriesEveryDomainEventWithItsChainHash) {
  auto st = OpenStore();
  ManualClock clock;
  EngineOptions options;
  options.audit_destination = "audit";
  auto engine = NewEngine(*st, clock, options);
  std::vector<RawInput> first = {
      Raw(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")), "#1"),
      Raw(Submit("s2", "C-2", At("2026-01-15T09:30:00Z")), "#2"),
      Raw(Complete("c1", "C-1", At("2026-01-15T10:00:00Z")), "#3"),
      Raw(Complete("c2", "C-2", At("2026-01-15T11:00:00Z")), "#4"),
      Raw(Hearing("h1", "C-1", At("2026-02-01T09:00:00Z")), "#5"),
      Raw(Approve("a1", "C-1", At("2026-02-02T09:00:00Z")), "#6"),
  };
  ASSERT_TRUE(engine->ProcessBatch(first, "memory", {{"memory", "6"}}).ok());
  // Its time passes C-2's deadline: the timer's events are audited too.
  std::vector<RawInput> second = {Raw(Submit("s3", "C-3", At("2026-05-01T09:00:00Z")), "#7")};
  ASSERT_TRUE(engine->ProcessBatch(second, "memory", {{"memory", "7"}}).ok());
  ASSERT_EQ(Case(*engine, "C-2").outcome, "deemed_approved");

  // The outbox holds references, not the events' bytes.
  const std::vector<std::string> cases = {"C-1", "C-2", "C-3"};
  size_t events = 0;
  for (const std::string& id : cases)
    events += Log(*st, id).size();
  std::vector<store::OutboxEntry> refs;
  for (const store::OutboxEntry& e : Outbox(*st)) {
    if (e.destination == "audit") refs.push_back(e);
  }
  ASSERT_FALSE(refs.empty());
  size_t payload_bytes = 0;
  size_t referenced = 0;
  for (const store::OutboxEntry& r : refs) {
    EXPECT_TRUE(r.is_reference()) << r.id;
    EXPECT_GE(r.event_from, 1u);
    EXPECT_LE(r.event_from, r.event_to);
    payload_bytes += r.payload.size();
    referenced += r.event_to - r.event_from + 1;
  }
  EXPECT_EQ(payload_bytes, 0u);
  EXPECT_EQ(referenced, events);
  EXPECT_LT(refs.size(), events) << "one reference per event: ranges are not merged";

  MemorySink sink;
  ASSERT_TRUE(engine->PublishOutbox(sink).ok());
  EXPECT_EQ(OutboxSize(*st), 0u);
  std::map<std::string, std::vector<const OutboundMessage*>> by_case;
  for (const OutboundMessage* e : sink.To("audit"))
    by_case[e->key].push_back(e);
  EXPECT_EQ(by_case.size(), cases.size());
  for (const std::string& id : cases) {
    SCOPED_TRACE("case " + id);
    std::vector<store::EventRecord> records = Records(*st, id);
    const std::vector<const OutboundMessage*>& messages = by_case[id];
    ASSERT_EQ(messages.size(), records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      const OutboundMessage& m = *messages[i];
      Result<runtime::DomainEvent> e = runtime::DecodeEvent(records[i].payload);
      ASSERT_TRUE(e.ok());
      std::string want_id = id + "/" + std::to_string(records[i].seq);
      EXPECT_EQ(m.id, want_id);  // never a reference: an OutboundMessage has no event range
      Result<runtime::InputEvent> ce = DecodeCloudEvent(m.payload);
      ASSERT_TRUE(ce.ok()) << ce.status().ToString() << "\n" << m.payload;
      EXPECT_EQ(ce->id, want_id);
      EXPECT_EQ(ce->subject, id);
      EXPECT_EQ(ce->type, "de.amtsweg." + std::string(runtime::DomainTypeName(e->type)));
      EXPECT_EQ(ce->time, e->time);
      EXPECT_EQ(ce->data["type"].as_string(), runtime::DomainTypeName(e->type));
      EXPECT_EQ(ce->data["seq"].as_int(), static_cast<int64_t>(records[i].seq));
      EXPECT_EQ(ce->data["chain"].as_string(), ToHex(records[i].hash));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 6. Dead letters to a destination.

TEST_F(EngineEdges, DeadLettersGoToTheDestinationWithReasonAndPosition) {
  auto st = OpenStore();
  ManualClock clock;
  EngineOptions options;
  options.dead_letter_destination = "dlq";
  auto engine = NewEngine(*st, clock, options);
  std::vector<RawInput> in = {
      Raw(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")), "partition 0 offset 10"),
      Raw("{not json", "partition 0 offset 11"),
      Raw(Event("u1", "de.example.unknown", "C-1", At("2026-01-15T09:01:00Z")),
          "partition 0 offset 12"),
      Raw(Submit("s2", "C-2", At("2026-01-15T09:02:00Z")), "partition 0 offset 13"),
      Raw(Submit("s3", "C-3", At("2026-01-15T09:03:00Z")), "partition 0 offset 14"),
      Raw(Complete("c1", "C-1", At("2026-01-15T10:00:00Z")), "partition 0 offset 15"),
  };
  in[0].key = "C-1";
  in[3].misrouted = "key 'C-2' belongs to partition 3";
  in[4].key = "C-9";  // not the subject
  in[5].key = "C-1";
  ASSERT_TRUE(engine->ProcessBatch(in, "kafka:applications", {{"p", "16"}}).ok());
  MemorySink sink;
  ASSERT_TRUE(engine->PublishOutbox(sink).ok());

  EXPECT_EQ(Case(*engine, "C-1").state, "hearing");
  for (const char* id : {"C-2", "C-3"}) {
    Result<std::optional<runtime::CaseState>> c = engine->LoadCase(id);
    ASSERT_TRUE(c.ok());
    EXPECT_FALSE(c->has_value()) << id << " was opened";
  }
  std::vector<const OutboundMessage*> dlq = sink.To("dlq");
  ASSERT_EQ(dlq.size(), 4u);
  const size_t bad[] = {1, 2, 3, 4};
  const char* kinds[] = {"malformed: ", "unknown-type: ", "misrouted: key 'C-2' belongs",
                         "misrouted: "};
  const char* kind_fields[] = {"malformed", "unknown-type", "misrouted", "misrouted"};
  for (size_t i = 0; i < 4; ++i) {
    const OutboundMessage& m = *dlq[i];
    const RawInput& raw = in[bad[i]];
    SCOPED_TRACE(raw.where);
    EXPECT_EQ(m.payload, raw.bytes);
    EXPECT_TRUE(StartsWith(Header(m, error_header::kReason), kinds[i]))
        << Header(m, error_header::kReason);
    // The kind also as a header of its own, and as a field of the stored dead letter.
    EXPECT_EQ(Header(m, error_header::kKind), kind_fields[i]);
    EXPECT_EQ(DeadLetters(*st).at(i).kind, kind_fields[i]);
    EXPECT_EQ(Header(m, error_header::kPosition), raw.where);
  }
  EXPECT_NE(Header(*dlq[3], error_header::kReason).find("C-9"), std::string::npos)
      << Header(*dlq[3], error_header::kReason);
  EXPECT_EQ(DeadLetters(*st).size(), 4u);
  EXPECT_EQ(OutboxSize(*st), 0u);
}

// A Kafka message in binary mode is decoded by the engine (its headers carry the attributes); a
// refused one goes to the dead-letter destination as the original message: the value and the
// headers unchanged (binary mode stays binary mode, no content-type added), the error headers
// after them, and the stored dead letter keeps the headers too.
TEST_F(EngineEdges, BinaryModeInputIsDecodedAndItsDeadLetterIsTheOriginalMessage) {
  auto st = OpenStore();
  ManualClock clock;
  EngineOptions options;
  options.dead_letter_destination = "dlq";
  auto engine = NewEngine(*st, clock, options);
  Result<KafkaMessage> good = StructuredToBinary(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")));
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  RawInput a = Raw(good->value, "topic in partition 0 offset 10");
  a.headers = good->headers;
  a.headers.emplace_back("traceparent", "00-abc-01");
  a.key = "C-1";
  a.kafka = KafkaOrigin{"in", 0, 10, 1768467600000};
  // The same case again (case-exists), with its attribute headers in upper case, and a stale
  // error header of an earlier dead letter that the new one replaces.
  RawInput b = a;
  b.where = "topic in partition 0 offset 11";
  b.kafka->offset = 11;
  for (auto& [name, value] : b.headers) {
    if (name == "ce_id") value = "s2";
    if (name.rfind("ce_", 0) == 0) name = "CE_" + name.substr(3);
  }
  b.headers.emplace_back(error_header::kKind, "stale");
  ASSERT_TRUE(engine->ProcessBatch({a, b}, "kafka:in", {{"p", "12"}}).ok());
  MemorySink sink;
  ASSERT_TRUE(engine->PublishOutbox(sink).ok());
  EXPECT_TRUE(Case(*engine, "C-1").open());

  std::vector<const OutboundMessage*> dlq = sink.To("dlq");
  ASSERT_EQ(dlq.size(), 1u);
  const OutboundMessage& m = *dlq[0];
  EXPECT_EQ(m.payload, b.bytes);
  ASSERT_GE(m.headers.size(), b.headers.size() - 1);
  for (size_t i = 0; i + 1 < b.headers.size(); ++i)
    EXPECT_EQ(m.headers[i], b.headers[i]) << i;  // the original headers, in order
  std::map<std::string, std::vector<std::string>> extra;
  for (size_t i = b.headers.size() - 1; i < m.headers.size(); ++i)
    extra[m.headers[i].first].push_back(m.headers[i].second);
  using V = std::vector<std::string>;
  EXPECT_EQ(extra[error_header::kKind], V{"case-exists"});
  EXPECT_EQ(extra[error_header::kTopic], V{"in"});
  EXPECT_EQ(extra[error_header::kPartition], V{"0"});
  EXPECT_EQ(extra[error_header::kOffset], V{"11"});
  EXPECT_EQ(extra[error_header::kTimestamp], V{"1768467600000"});
  EXPECT_EQ(extra[error_header::kSize], V{std::to_string(b.size)});
  EXPECT_EQ(extra[error_header::kSource], V{"kafka:in"});
  EXPECT_EQ(extra[error_header::kPosition], V{b.where});
  ASSERT_EQ(extra[error_header::kReason].size(), 1u);
  EXPECT_EQ(extra[error_header::kReason][0].rfind("case-exists: ", 0), 0u);
  for (const auto& [name, value] : m.headers)
    EXPECT_FALSE(EqualsIgnoreCase(name, "content-type") && value == kCloudEventsJsonType);
  std::vector<store::DeadLetter> dead = DeadLetters(*st);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].raw, b.bytes);
  EXPECT_EQ(dead[0].headers, b.headers);
  EXPECT_EQ(dead[0].kind, "case-exists");
}

// ---------------------------------------------------------------------------------------------
// 6a. The clock is restored when an engine opens and never moves backwards; the counts add up.

using ::amtsweg::testing::FixedClock;

std::optional<Timestamp> StoredClock(const store::Store& st) {
  Result<std::optional<Timestamp>> clock = st.GetClock();
  EXPECT_TRUE(clock.ok()) << clock.status().ToString();
  return clock.ok() ? *clock : std::nullopt;
}

TEST_F(EngineEdges, ClockIsRestoredWhenTheEngineOpens) {
  auto st = OpenStore();
  {
    ManualClock clock;
    auto engine = NewEngine(*st, clock);
    LaneSource src({{0, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))},
                    {0, Complete("c1", "C-1", At("2026-01-15T10:00:00Z"))}});
    ASSERT_TRUE(engine->Run(src, nullptr, Batches(10, UINT64_MAX, true)).ok());
    // Moving the clock with nothing due is committed too.
    ASSERT_TRUE(engine->AdvanceClock(At("2026-03-01T00:00:00Z")).ok());
  }
  EXPECT_EQ(StoredClock(*st), At("2026-03-01T00:00:00Z"));

  // A new engine with a clock at 1970 (as `amtsweg run` makes one) continues from the store.
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-03-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(clock.Now()), "2026-03-01T00:00:00Z");
  // What it refuses before reading any valid input is stamped with that clock, not 1970.
  ASSERT_TRUE(engine->ProcessBatch({Raw("{not json", "line 1")}, "other", {{"other", "1"}}).ok());
  std::vector<store::DeadLetter> dead = DeadLetters(*st);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(FormatTimestamp(dead[0].at), "2026-03-01T00:00:00Z");
  EXPECT_EQ(dead[0].kind, "malformed");

  // A clock the engine cannot move is never reported earlier than the stored one either.
  FixedClock behind(At("2026-02-01T00:00:00Z"));
  engine = NewEngine(*st, EventClock(behind));
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-03-01T00:00:00Z");
  ASSERT_TRUE(engine->ProcessBatch({Raw("[]", "line 2")}, "other", {{"other", "2"}}).ok());
  EXPECT_EQ(FormatTimestamp(DeadLetters(*st).at(1).at), "2026-03-01T00:00:00Z");
  EXPECT_EQ(StoredClock(*st), At("2026-03-01T00:00:00Z"));
}

// Neither AdvanceClock, nor a clock event, nor an input from before the clock moves it back;
// the clock event is taken (counted as accepted) and changes nothing, not even after a restart.
TEST_F(EngineEdges, ClockNeverMovesBackwards) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  LaneSource src(
      {{0, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))},
       {0, Complete("c1", "C-1", At("2026-01-15T10:00:00Z"))},
       {0, Event("tick", runtime::input_type::kClockAdvanced, "", At("2026-03-01T00:00:00Z"))}});
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(10, UINT64_MAX, true)).ok());
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-03-01T00:00:00Z");

  ManualClock restarted;  // a new process: its clock starts at 1970
  engine = NewEngine(*st, restarted);
  ASSERT_TRUE(engine->AdvanceClock(At("2026-02-01T00:00:00Z")).ok());
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-03-01T00:00:00Z");
  std::vector<RawInput> back = {
      Raw(Event("tock", runtime::input_type::kClockAdvanced, "", At("2026-02-01T00:00:00Z")),
          "line 1"),
      Raw(Submit("s2", "C-2", At("2026-01-20T09:00:00Z")), "line 2"),
  };
  ASSERT_TRUE(engine->ProcessBatch(back, "more", {{"more", "2"}}).ok());
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-03-01T00:00:00Z");
  EXPECT_EQ(StoredClock(*st), At("2026-03-01T00:00:00Z"));
  EXPECT_EQ(engine->stats().inputs, 2u);
  EXPECT_EQ(engine->stats().accepted, 2u);
  EXPECT_TRUE(DeadLetters(*st).empty());
  EXPECT_TRUE(Case(*engine, "C-1").open());  // its deadline (15 April) has not come
  EXPECT_EQ(engine->stats().timers_fired, 0u);

  // A store refuses a clock that moves backwards outright.
  store::Batch earlier;
  earlier.clock = At("2026-02-01T00:00:00Z");
  EXPECT_TRUE(st->Commit(earlier).status().IsInvalidArgument());
}

// Every raw input is counted once, as accepted, refused or duplicate, whatever it is (a clock
// event forward or back, bad input, a repeat); fired timers are counted apart, as expired, stale
// or refused, and never as inputs.
TEST_F(EngineEdges, CountsAddUpAndTimersAreCountedApart) {
  auto st = OpenStore();
  // A timer left behind for C-2 at a due time its deadline does not have: stale when it fires.
  store::Batch left;
  left.timers_add = {store::Timer{At("2026-04-16T00:00:00Z"), "C-2", "fiction"}};
  ASSERT_TRUE(st->Commit(left).ok());
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  LaneSource src({
      {0, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))},
      {0, Complete("c1", "C-1", At("2026-01-15T10:00:00Z"))},  // C-1 due 15 April 22:00
      {0, Submit("s2", "C-2", At("2026-02-01T09:00:00Z"))},
      {0, Complete("c2", "C-2", At("2026-02-01T10:00:00Z"))},  // C-2 due 1 May 22:00
      {0, "{broken"},
      {0, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))},     // a duplicate
      {0, Hearing("h9", "C-404", At("2026-02-02T10:00:00Z"))},  // no such case
      {0, Event("t1", runtime::input_type::kClockAdvanced, "", At("2026-04-20T00:00:00Z"))},
      {0, Event("t0", runtime::input_type::kClockAdvanced, "", At("2026-03-01T00:00:00Z"))},
  });
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(4, UINT64_MAX, true)).ok());
  const EngineStats& s = engine->stats();
  EXPECT_EQ(s.inputs, 9u);
  EXPECT_EQ(s.accepted, 6u);  // two submissions, two completions, two clock events
  EXPECT_EQ(s.rejected, 2u);
  EXPECT_EQ(s.duplicates, 1u);
  EXPECT_EQ(s.inputs, s.accepted + s.rejected + s.duplicates);
  EXPECT_EQ(s.timers_fired, 2u);
  EXPECT_EQ(s.timers_expired, 1u);  // C-1's deadline
  EXPECT_EQ(s.timers_stale, 1u);    // the one left behind
  EXPECT_EQ(s.timers_refused, 0u);
  EXPECT_EQ(Case(*engine, "C-1").outcome, "deemed_approved");
  EXPECT_TRUE(Case(*engine, "C-2").open());
  EXPECT_EQ(DeadLetters(*st).size(), s.rejected + s.duplicates);

  // C-2's workflow version is no longer deployed when its deadline comes: the timer is refused
  // (recorded in the case as input.rejected), which is neither an input nor a dead letter.
  dsl::Registry none;
  Engine bare(*st, none, *world.directory, clock);
  ASSERT_TRUE(bare.Open().ok());
  ASSERT_TRUE(bare.AdvanceClock(At("2026-06-01T00:00:00Z")).ok());
  EXPECT_EQ(bare.stats().inputs, 0u);
  EXPECT_EQ(bare.stats().rejected, 0u);
  EXPECT_EQ(bare.stats().timers_fired, 1u);
  EXPECT_EQ(bare.stats().timers_refused, 1u);
  std::vector<runtime::DomainEvent> log = Log(*st, "C-2");
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().type, runtime::DomainType::kInputRejected);
  EXPECT_EQ(runtime::DataToValue(log.back().data)["kind"].as_string(), "unknown-workflow");
  EXPECT_EQ(DeadLetters(*st).size(), 3u);
}

// ---------------------------------------------------------------------------------------------
// 7. Positions are reported to the source only after delivery.

TEST_F(EngineEdges, PositionsAreReportedOnlyWhenEverythingTheBatchCausedIsDelivered) {
  auto st = OpenStore();
  ManualClock clock;
  EngineOptions options;
  options.audit_destination = "audit";  // references: several messages per outbox entry
  auto engine = NewEngine(*st, clock, options);
  LaneSource src;
  MemorySink sink;
  sink.auto_ack = false;

  ASSERT_TRUE(engine
                  ->ProcessBatch({Raw(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")), "#1")},
                                 "lanes", {{"p0", "1"}, {"p1", "7"}})
                  .ok());
  std::set<uint64_t> batch1;
  for (const store::OutboxEntry& e : Outbox(*st))
    batch1.insert(e.seq);
  ASSERT_FALSE(batch1.empty());
  ASSERT_TRUE(engine
                  ->ProcessBatch({Raw(Complete("c1", "C-1", At("2026-01-15T10:00:00Z")), "#2")},
                                 "lanes", {{"p0", "2"}})
                  .ok());
  ASSERT_TRUE(engine->PublishOutbox(sink, &src).ok());
  EXPECT_TRUE(src.committed.empty()) << "positions reported before delivery";
  ASSERT_FALSE(sink.unacked.empty());

  // The first batch's audit reference went out as several messages with one seq.
  std::map<uint64_t, int> messages;
  for (uint64_t seq : sink.unacked)
    messages[seq]++;
  uint64_t reference = 0;
  for (uint64_t seq : batch1) {
    if (messages[seq] > 1) reference = seq;
  }
  ASSERT_NE(reference, 0u) << "no reference entry expanded into several messages";

  // Everything of batch 1 but one message of the reference: the reference stays, no position.
  for (uint64_t seq : batch1) {
    for (int i = 0; i < messages[seq] - (seq == reference ? 1 : 0); ++i)
      ASSERT_TRUE(sink.AckOne(seq));
  }
  ASSERT_TRUE(engine->PublishOutbox(sink, &src).ok());
  EXPECT_TRUE(src.committed.empty()) << "positions reported with a message undelivered";
  std::set<uint64_t> left;
  for (const store::OutboxEntry& e : Outbox(*st))
    left.insert(e.seq);
  EXPECT_EQ(left.count(reference), 1u) << "a partly delivered reference left the outbox";
  for (uint64_t seq : batch1) {
    if (seq != reference) {
      EXPECT_EQ(left.count(seq), 0u) << seq;
    }
  }

  // Its last message: batch 1 is delivered (batch 2 is not).
  ASSERT_TRUE(sink.AckOne(reference));
  ASSERT_TRUE(engine->PublishOutbox(sink, &src).ok());
  ASSERT_EQ(src.committed.size(), 1u);
  EXPECT_EQ(AsMap(src.committed[0]),
            (std::map<std::string, std::string>{{"p0", "1"}, {"p1", "7"}}));
  for (const store::OutboxEntry& e : Outbox(*st))
    EXPECT_EQ(batch1.count(e.seq), 0u) << "delivered entry " << e.seq << " still in the outbox";

  sink.AckAll();
  ASSERT_TRUE(engine->PublishOutbox(sink, &src).ok());
  ASSERT_EQ(src.committed.size(), 2u);
  EXPECT_EQ(AsMap(src.committed[1]), (std::map<std::string, std::string>{{"p0", "2"}}));
  EXPECT_EQ(OutboxSize(*st), 0u);
  EXPECT_EQ(engine->outbox_backlog(), 0u);
}

TEST_F(EngineEdges, DeliveryOfSeveralBatchesReportsTheLatestPositionPerKey) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  LaneSource src;
  MemorySink sink;
  sink.auto_ack = false;
  ASSERT_TRUE(engine
                  ->ProcessBatch({Raw(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")), "#1")},
                                 "lanes", {{"p0", "1"}, {"p1", "7"}})
                  .ok());
  ASSERT_TRUE(engine
                  ->ProcessBatch({Raw(Submit("s2", "C-2", At("2026-01-15T10:00:00Z")), "#2")},
                                 "lanes", {{"p0", "2"}})
                  .ok());
  ASSERT_TRUE(engine->PublishOutbox(sink, &src).ok());
  EXPECT_TRUE(src.committed.empty());
  sink.AckAll();
  ASSERT_TRUE(engine->PublishOutbox(sink, &src).ok());
  ASSERT_EQ(src.committed.size(), 1u);
  EXPECT_EQ(src.committed[0].size(), 2u) << "one position per key";
  EXPECT_EQ(AsMap(src.committed[0]),
            (std::map<std::string, std::string>{{"p0", "2"}, {"p1", "7"}}));
}

// A batch that causes no outbound entry has nothing to wait for: its positions are delivered as
// soon as everything before it is, also on a fresh store and before this Engine sent anything.
TEST_F(EngineEdges, PositionsOfABatchWithNothingOutboundAreReported) {
  auto st = OpenStore();
  ManualClock clock;
  LaneSource src;
  MemorySink sink;
  {
    auto engine = NewEngine(*st, clock);
    // No dead-letter destination: a bad input causes nothing outbound.
    ASSERT_TRUE(engine->ProcessBatch({Raw("{broken", "#1")}, "lanes", {{"p0", "1"}}).ok());
    ASSERT_EQ(OutboxSize(*st), 0u);
    ASSERT_TRUE(engine->PublishOutbox(sink, &src).ok());
    EXPECT_EQ(src.committed.size(), 1u) << "fresh store: position of a batch without outbound "
                                           "entries never reported";
  }
  {
    // After a restart, with earlier entries all delivered.
    auto engine = NewEngine(*st, clock);
    ASSERT_TRUE(engine
                    ->ProcessBatch({Raw(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")), "#2")},
                                   "lanes", {{"p0", "2"}})
                    .ok());
    ASSERT_TRUE(engine->FlushOutbox(sink, &src, std::chrono::seconds(10)).ok());
  }
  src.committed.clear();
  auto engine = NewEngine(*st, clock);
  ASSERT_TRUE(engine->ProcessBatch({Raw("{broken", "#3")}, "lanes", {{"p0", "3"}}).ok());
  ASSERT_TRUE(engine->PublishOutbox(sink, &src).ok());
  ASSERT_EQ(src.committed.size(), 1u) << "after a restart: position of a batch without outbound "
                                         "entries never reported";
  EXPECT_EQ(AsMap(src.committed[0]), (std::map<std::string, std::string>{{"p0", "3"}}));
}

// ---------------------------------------------------------------------------------------------
// 8. Backpressure: input pauses while the outbox is over its bound.

TEST_F(EngineEdges, InputPausesWhileTheOutboxIsOverItsBoundAndResumes) {
  auto st = OpenStore();
  ManualClock clock;
  EngineOptions options;
  options.outbox_bound = 5;
  auto engine = NewEngine(*st, clock, options);
  std::vector<MemoryInput> lines;
  std::set<std::string> expected;  // each submission discloses to the chamber: C-i/4/ihk-kiel
  for (int i = 0; i < 12; ++i) {
    std::string c = "C-" + std::to_string(i);
    lines.push_back({0, Submit("s" + c, c, At("2026-01-15T09:00:00Z") + i * kHour)});
    expected.insert(ParticipantEventId(c, 4, "ihk-kiel"));
  }
  LaneSource src(lines);
  MemorySink sink;
  sink.auto_ack = false;
  size_t delivered_at_pause = 0;
  uint64_t backlog_at_pause = 0;
  size_t delivered_at_resume = 0;
  src.on_pause = [&](bool paused) {
    if (paused) {
      delivered_at_pause = src.delivered;
      backlog_at_pause = engine->outbox_backlog();
    } else {
      delivered_at_resume = src.delivered;
    }
  };
  // While paused the sink starts acknowledging after three polls.
  src.on_paused_poll = [&] {
    if (src.polls_while_paused == 3) sink.auto_ack = true;
  };
  RunOptions run = Batches(2, 100, true);
  run.stop = [&] { return src.polls > 1000; };  // a guard, so that a failure does not hang
  ASSERT_TRUE(engine->Run(src, &sink, run).ok());
  ASSERT_LE(src.polls, 1000u) << "Run did not finish";

  EXPECT_EQ(src.pause_calls, (std::vector<bool>{true, false}));
  // Three batches of two inputs, one message each: the bound is reached after the third.
  EXPECT_EQ(delivered_at_pause, 6u);
  EXPECT_GE(backlog_at_pause, options.outbox_bound);
  EXPECT_EQ(delivered_at_resume, delivered_at_pause) << "input read while paused";
  EXPECT_GE(src.polls_while_paused, 3u);
  EXPECT_EQ(src.delivered, lines.size());
  EXPECT_EQ(engine->stats().inputs, lines.size());
  std::set<std::string> sent = sink.Ids();
  for (const std::string& id : expected)
    EXPECT_EQ(sent.count(id), 1u) << "never sent: " << id;
  EXPECT_EQ(OutboxSize(*st), 0u);
  EXPECT_EQ(engine->outbox_backlog(), 0u);
}

// ---------------------------------------------------------------------------------------------
// 9. A failing sink stops Run; the outbox keeps the entries for the next engine.

TEST_F(EngineEdges, SinkFailureStopsRunAndTheNextEngineDeliversTheOutbox) {
  auto st = OpenStore();
  ManualClock clock;
  std::vector<MemoryInput> lines = {{0, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))},
                                    {0, Complete("c1", "C-1", At("2026-01-15T10:00:00Z"))},
                                    {0, Submit("s2", "C-2", At("2026-01-15T11:00:00Z"))}};
  LaneSource src(lines);
  MemorySink failing;
  failing.failure = Status::IOError("broker gone for good");
  {
    auto engine = NewEngine(*st, clock, PublishingEverything());
    Status s = engine->Run(src, &failing, Batches(10, UINT64_MAX, true));
    EXPECT_EQ(s.code(), Status::Code::kIOError) << s.ToString();
    EXPECT_NE(s.message().find("broker gone for good"), std::string::npos) << s.ToString();
  }
  ASSERT_FALSE(failing.sent.empty());
  EXPECT_TRUE(src.committed.empty()) << "positions reported although nothing was delivered";
  std::set<uint64_t> sent_seqs(failing.unacked.begin(), failing.unacked.end());
  EXPECT_EQ(OutboxSize(*st), sent_seqs.size());
  std::vector<store::OutboxEntry> kept = Outbox(*st);
  for (const store::OutboxEntry& e : kept)
    EXPECT_EQ(sent_seqs.count(e.seq), 1u) << e.seq;

  auto engine = NewEngine(*st, clock, PublishingEverything());
  MemorySink good;
  ASSERT_TRUE(engine->Run(src, &good, Batches(10, UINT64_MAX, true)).ok());
  EXPECT_EQ(good.Ids(), failing.Ids());
  EXPECT_EQ(good.sent.size(), failing.sent.size());
  EXPECT_EQ(OutboxSize(*st), 0u);
  EXPECT_EQ(engine->stats().inputs, 0u) << "inputs processed twice";
}

// ---------------------------------------------------------------------------------------------
// 10. Settle: pending inputs committed with their positions, the outbox flushed.

TEST_F(EngineEdges, SettleCommitsPendingInputsAndFlushesTheOutbox) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  LaneSource src;
  MemorySink sink;
  std::vector<RawInput> pending = {
      Raw(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")), "partition 3 offset 41", 3),
      Raw(Submit("s2", "C-2", At("2026-01-15T10:00:00Z")), "partition 3 offset 42", 3)};
  ASSERT_TRUE(engine->Settle(src, &sink, pending, {{"p3", "43"}}, std::chrono::seconds(10)).ok());
  Result<std::optional<std::string>> pos = st->GetPosition("p3");
  ASSERT_TRUE(pos.ok() && pos->has_value());
  EXPECT_EQ(**pos, "43");
  EXPECT_TRUE(Case(*engine, "C-1").open());
  EXPECT_TRUE(Case(*engine, "C-2").open());
  EXPECT_EQ(sink.Ids(), (std::set<std::string>{"C-1/4/ihk-kiel", "C-2/4/ihk-kiel"}));
  EXPECT_EQ(OutboxSize(*st), 0u);
  ASSERT_EQ(src.committed.size(), 1u);
  EXPECT_EQ(AsMap(src.committed[0]), (std::map<std::string, std::string>{{"p3", "43"}}));
}

TEST_F(EngineEdges, SettleGivesUpAfterItsTimeoutWhenNothingIsAcknowledged) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  LaneSource src;
  MemorySink sink;
  sink.auto_ack = false;
  std::vector<RawInput> pending = {
      Raw(Submit("s1", "C-1", At("2026-01-15T09:00:00Z")), "partition 3 offset 41", 3)};
  Status s = engine->Settle(src, &sink, pending, {{"p3", "42"}}, milliseconds(50));
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  // Stored, but not reported as delivered.
  Result<std::optional<std::string>> pos = st->GetPosition("p3");
  ASSERT_TRUE(pos.ok() && pos->has_value());
  EXPECT_EQ(**pos, "42");
  EXPECT_TRUE(src.committed.empty());
  EXPECT_EQ(OutboxSize(*st), 1u);
  EXPECT_EQ(sink.Ids(), std::set<std::string>{"C-1/4/ihk-kiel"});
}

// A clock event is time passing on its lane: the clock follows it only as far as the other busy
// lanes allow, so a lagging partition's timely input is not overtaken by the deadline it stops.
TEST_F(EngineEdges, ClockEventIsHeldByABusyLane) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  std::string tick =
      Event("tick", runtime::input_type::kClockAdvanced, "", At("2026-06-01T00:00:00Z"));
  LaneSource src({{0, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))},
                  {0, Complete("c1", "C-1", At("2026-01-15T10:00:00Z"))},
                  {1, Submit("s3", "C-3", At("2026-02-01T09:00:00Z"))},
                  {1, tick}});
  src.held = {0};  // lane 0 may still deliver C-1's approval
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(10, 1, false)).ok());
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-01-15T10:00:00Z");
  EXPECT_TRUE(Case(*engine, "C-1").open());
  EXPECT_EQ(engine->stats().timers_fired, 0u);

  // Lane 0 is read to its end: the clock event takes effect and the deadline expires.
  src.held.clear();
  ASSERT_TRUE(engine->Run(src, nullptr, Batches(10, UINT64_MAX, true)).ok());
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-06-01T00:00:00Z");
  EXPECT_EQ(Case(*engine, "C-1").outcome, "deemed_approved");
}

// An input stamped too far ahead of the wall clock is refused before it can move the clock.
TEST_F(EngineEdges, InputFromTheFutureIsRefused) {
  auto st = OpenStore();
  ManualClock clock;
  ManualClock wall(At("2026-01-15T12:00:00Z"));
  EngineOptions options;
  options.max_future_ms = 15 * 60 * 1000;
  options.wall_clock = &wall;
  options.dead_letter_destination = "dlq";
  auto engine = NewEngine(*st, clock, options);
  LaneSource src({{0, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))},
                  {0, Complete("c1", "C-1", At("2026-01-15T12:14:00Z"))},
                  {0, Submit("s2", "C-2", At("2099-01-01T00:00:00Z"))}});
  MemorySink sink;
  ASSERT_TRUE(engine->Run(src, &sink, Batches(10, UINT64_MAX, true)).ok());
  EXPECT_EQ(FormatTimestamp(engine->now()), "2026-01-15T12:14:00Z");
  EXPECT_TRUE(Case(*engine, "C-1").open());
  EXPECT_FALSE(engine->LoadCase("C-2")->has_value());
  EXPECT_EQ(engine->stats().rejected, 1u);
  std::vector<OutboundMessage> dead;
  for (const OutboundMessage& e : sink.sent) {
    if (e.destination == "dlq") dead.push_back(e);
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(
      Header(dead[0], error_header::kReason).rfind("future: event time 2099-01-01T00:00:00Z", 0),
      0u)
      << Header(dead[0], error_header::kReason);
}

// ---------------------------------------------------------------------------------------------
// 11. Progress while idle: acknowledgements that arrive while no input does reach the progress
// callback (the monitor of `run --listen` is fed from it), and idle polls are no batches.

TEST_F(EngineEdges, ProgressReportsAcknowledgementsWhileTheInputIsIdle) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = NewEngine(*st, clock);
  LaneSource src({{0, Submit("s1", "C-1", At("2026-01-15T09:00:00Z"))}});
  src.held = {0};  // the lane stays assigned: the source is never at its end
  MemorySink sink;
  sink.auto_ack = false;
  struct Seen {
    uint64_t inputs, published, backlog, batches;
  };
  std::vector<Seen> seen;
  RunOptions run = Batches(10, 100, false);
  run.progress = [&](const EngineStats& s) {
    seen.push_back({s.inputs, s.published, engine->outbox_backlog(), s.batches});
  };
  size_t acked_at = 0;  // progress calls before the acknowledgement (0: not yet)
  run.stop = [&] {
    if (seen.empty()) return false;
    const Seen& last = seen.back();
    if (acked_at == 0 && last.backlog > 0) {  // sent, not acknowledged: acknowledge now
      sink.AckAll();
      acked_at = seen.size();
    }
    // Done once the acknowledgement is reported; the poll count is a guard against a hang.
    return (acked_at > 0 && last.backlog == 0) || src.polls > 1000;
  };
  ASSERT_TRUE(engine->Run(src, &sink, run).ok());
  ASSERT_LE(src.polls, 1000u) << "the acknowledgement never reached the progress callback";
  ASSERT_GT(acked_at, 0u) << "nothing was sent";
  ASSERT_FALSE(sink.sent.empty());
  const Seen& before = seen[acked_at - 1];
  const Seen& after = seen.back();
  EXPECT_EQ(before.published, 0u);
  EXPECT_EQ(before.backlog, sink.sent.size());
  // The same input as before (no new one arrived), yet the figures moved.
  EXPECT_EQ(after.inputs, 1u);
  EXPECT_EQ(after.inputs, before.inputs);
  EXPECT_EQ(after.published, sink.sent.size());
  EXPECT_EQ(after.backlog, 0u);
  EXPECT_GT(src.polls, 1u);
  // One batch with the input; the idle polls after it wrote nothing and are not counted.
  EXPECT_EQ(after.batches, 1u);
}

}  // namespace
}  // namespace amtsweg::core
