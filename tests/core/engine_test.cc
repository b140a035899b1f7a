#include "engine/core/engine.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>

#include "connectors/file/file_sink.h"
#include "engine/core/case_index.h"
#include "engine/core/cloudevent.h"
#include "tests/runtime/test_workflow.h"
#include "tests/testing/memory_sink.h"
#include "tests/testing/memory_source.h"
#include "tests/testing/seed.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

using amtsweg::testing::Application;
using amtsweg::testing::MemorySink;
using amtsweg::testing::MemorySource;
using amtsweg::testing::TempDir;

std::string Event(std::string id, std::string_view type, std::string subject, std::string_view time,
                  Value data = Value::Object({}), std::string participant = "") {
  ObjectBuilder b;
  b.Add("specversion", "1.0").Add("id", std::move(id)).Add("source", "test");
  b.Add("type", type).Add("subject", std::move(subject)).Add("time", time);
  if (!participant.empty()) b.Add("participant", std::move(participant));
  b.Add("data", std::move(data));
  return b.Build().ToJson();
}

std::string Submit(std::string id, std::string c, std::string_view time, std::string_view ags) {
  return Event(std::move(id), runtime::input_type::kApplicationSubmitted, std::move(c), time,
               Application(ags));
}
std::string Complete(std::string id, std::string c, std::string_view time, std::string org) {
  return Event(std::move(id), runtime::input_type::kDocumentsCompleted, std::move(c), time,
               Value::Object({}), std::move(org));
}

// Everything stored about every case, as text: event payloads with hashes, and snapshots.
std::string DumpCases(const store::Store& st) {
  std::string out;
  std::vector<std::string> ids;
  EXPECT_TRUE(st.ScanCases([&](std::string_view id, const store::CaseRecord&) {
                  ids.emplace_back(id);
                  return true;
                }).ok());
  for (const std::string& id : ids) {
    out += "case " + id + "\n";
    EXPECT_TRUE(st.ScanEvents(id, 1, UINT64_MAX, [&](const store::EventRecord& r) {
                    Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
                    EXPECT_TRUE(e.ok());
                    out += runtime::EventToValue(*e).ToJson() + " " + ToHex(r.hash) + "\n";
                    return true;
                  }).ok());
    Result<std::optional<runtime::CaseState>> state = LoadCaseState(st, id);
    EXPECT_TRUE(state.ok() && state->has_value());
    out += "snapshot " + runtime::StateToValue(**state).ToJson() + "\n";
    EXPECT_TRUE(st.VerifyChain(id).ok());
  }
  return out;
}

std::vector<std::string> DeadReasons(const store::Store& st) {
  std::vector<std::string> out;
  EXPECT_TRUE(st.ScanDeadLetters([&](const store::DeadLetter& d) {
                  out.push_back(d.position + " " + d.reason);
                  return true;
                }).ok());
  return out;
}

// Every dead letter with its time (engine clock) and kind, for comparing whole runs.
std::vector<std::string> DeadRecords(const store::Store& st) {
  std::vector<std::string> out;
  EXPECT_TRUE(st.ScanDeadLetters([&](const store::DeadLetter& d) {
                  out.push_back(d.position + " at " + FormatTimestamp(d.at) + " " + d.kind + " " +
                                d.reason);
                  return true;
                }).ok());
  return out;
}

std::optional<Timestamp> StoredClock(const store::Store& st) {
  Result<std::optional<Timestamp>> clock = st.GetClock();
  EXPECT_TRUE(clock.ok()) << clock.status().ToString();
  return clock.ok() ? *clock : std::nullopt;
}

class EngineTest : public ::testing::Test {
 protected:
  amtsweg::testing::TestWorld world;
  TempDir dir;

  std::unique_ptr<store::Store> OpenStore(store::Options options = {}) {
    auto st = store::Store::Open(dir.path() + "/db", options);
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    return std::move(st).value();
  }
};

TEST_F(EngineTest, BadInputIsDeadLetteredAndGoodInputAroundItIsProcessed) {
  auto st = OpenStore();
  ManualClock clock;
  Engine engine(*st, world.registry, *world.directory, clock);
  ASSERT_TRUE(engine.Open().ok());
  RawInput oversized;
  oversized.bytes = "{\"specversion\"";
  oversized.size = 10 << 20;
  oversized.oversized = true;
  oversized.where = "line 7";
  std::vector<std::string> lines = {
      Submit("a1", "C-1", "2026-01-15T09:00:00Z", "01002000"),
      "{not json",
      Event("u1", "de.example.unknown", "C-1", "2026-01-15T09:01:00Z"),
      Complete("d0", "C-1", "2026-01-15T09:02:00Z", "ihk-kiel"),    // wrong participant
      Submit("a1", "C-1", "2026-01-15T09:00:00Z", "01002000"),      // duplicate id
      Complete("d9", "C-404", "2026-01-15T09:03:00Z", "amt-kiel"),  // unknown case
      "",
      Complete("d1", "C-1", "2026-01-15T10:00:00Z", "amt-kiel"),
  };
  std::vector<RawInput> inputs;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == 6) {
      inputs.push_back(oversized);
      continue;
    }
    RawInput r;
    r.bytes = lines[i];
    r.size = r.bytes.size();
    r.where = "line " + std::to_string(i + 1);
    inputs.push_back(r);
  }
  ASSERT_TRUE(engine.ProcessBatch(inputs, "memory", {{"memory", "8"}}).ok());
  std::vector<std::string> dead = DeadReasons(*st);
  ASSERT_EQ(dead.size(), 6u) << ::testing::PrintToString(dead);
  EXPECT_EQ(dead[0].rfind("line 2 malformed: ", 0), 0u) << dead[0];
  EXPECT_EQ(dead[1].rfind("line 3 unknown-type: ", 0), 0u) << dead[1];
  EXPECT_EQ(dead[2].rfind("line 4 wrong-role: ", 0), 0u) << dead[2];
  EXPECT_EQ(dead[3].rfind("line 5 duplicate: ", 0), 0u) << dead[3];
  EXPECT_EQ(dead[4].rfind("line 6 unknown-case: ", 0), 0u) << dead[4];
  EXPECT_EQ(dead[5].rfind("line 7 oversized: ", 0), 0u) << dead[5];
  auto state = engine.LoadCase("C-1");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->state, "hearing");
  EXPECT_EQ(engine.stats().inputs, 8u);
  EXPECT_EQ(engine.stats().accepted, 2u);
  EXPECT_EQ(engine.stats().rejected, 5u);
  EXPECT_EQ(engine.stats().duplicates, 1u);
  Result<std::optional<std::string>> pos = st->GetPosition("memory");
  ASSERT_TRUE(pos.ok() && pos->has_value());
  EXPECT_EQ(**pos, "8");
  // The refusal of line 4 is part of the case's history too.
  bool recorded = false;
  ASSERT_TRUE(st->ScanEvents("C-1", 1, UINT64_MAX, [&](const store::EventRecord& r) {
                  recorded |=
                      runtime::DecodeEvent(r.payload)->type == runtime::DomainType::kInputRejected;
                  return true;
                }).ok());
  EXPECT_TRUE(recorded);
}

TEST_F(EngineTest, DeadlinesFireByEventTimeAndByAdvancingTheClock) {
  auto st = OpenStore();
  ManualClock clock;
  auto engine = std::make_unique<Engine>(*st, world.registry, *world.directory, clock);
  ASSERT_TRUE(engine->Open().ok());
  MemorySource src({Submit("a1", "C-1", "2026-01-15T09:00:00Z", "01002000"),
                    Complete("d1", "C-1", "2026-01-15T10:00:00Z", "amt-kiel"),
                    Submit("a2", "C-2", "2026-02-01T09:00:00Z", "01003000"),
                    Complete("d2", "C-2", "2026-02-01T10:00:00Z", "amt-luebeck"),
                    // Its time lies after C-1's deadline: the deadline fires first.
                    Submit("a3", "C-3", "2026-04-20T09:00:00Z", "01003000")});
  ASSERT_TRUE(engine->Drain(src, nullptr, 2).ok());
  auto c1 = engine->LoadCase("C-1");
  ASSERT_TRUE(c1.ok() && c1->has_value());
  EXPECT_EQ((*c1)->outcome, "deemed_approved");
  EXPECT_EQ(FormatTimestamp((*c1)->closed_at), "2026-04-15T22:00:00Z");
  auto c2 = engine->LoadCase("C-2");
  ASSERT_TRUE(c2.ok() && c2->has_value());
  EXPECT_TRUE((*c2)->open());
  EXPECT_EQ(engine->stats().timers_fired, 1u);

  // A new engine on the same store reloads the pending timer and fires it when told.
  engine = std::make_unique<Engine>(*st, world.registry, *world.directory, clock);
  ASSERT_TRUE(engine->Open().ok());
  // 1 February + 3 months is Friday 1 May 2026, a public holiday: the period runs over the
  // weekend to the end of Monday 4 May, 24:00 German summer time (§31 Abs. 3 VwVfG).
  ASSERT_TRUE(engine->AdvanceClock(*ParseTimestamp("2026-05-01T22:00:00Z")).ok());
  c2 = engine->LoadCase("C-2");
  EXPECT_TRUE((*c2)->open());
  ASSERT_TRUE(engine->AdvanceClock(*ParseTimestamp("2026-05-04T21:59:59Z")).ok());
  c2 = engine->LoadCase("C-2");
  EXPECT_TRUE((*c2)->open());
  ASSERT_TRUE(engine->AdvanceClock(*ParseTimestamp("2026-05-04T22:00:00Z")).ok());
  c2 = engine->LoadCase("C-2");
  EXPECT_EQ((*c2)->outcome, "deemed_approved");
  bool timer_left = false;
  ASSERT_TRUE(st->DueTimers(INT64_MAX, [&](const store::Timer&) {
                  timer_left = true;
                  return false;
                }).ok());
  EXPECT_FALSE(timer_left);
}

TEST_F(EngineTest, OutboxCarriesProjectedEventsWithStableIds) {
  auto st = OpenStore();
  ManualClock clock;
  Engine engine(*st, world.registry, *world.directory, clock);
  ASSERT_TRUE(engine.Open().ok());
  MemorySource src({Submit("a1", "C-1", "2026-01-15T09:00:00Z", "01002000")});
  MemorySink sink;
  ASSERT_TRUE(engine.Drain(src, &sink, 10).ok());
  ASSERT_EQ(sink.sent.size(), 1u);
  const OutboundMessage& e = sink.sent[0];
  EXPECT_EQ(e.destination, "amtsweg.org.ihk-kiel");
  EXPECT_EQ(e.key, "C-1");
  EXPECT_EQ(e.id, "C-1/4/ihk-kiel");  // the disclosure to the chamber (docs/events.md)
  Result<runtime::InputEvent> ce = DecodeCloudEvent(e.payload);
  ASSERT_TRUE(ce.ok()) << ce.status().ToString();
  EXPECT_EQ(ce->id, "C-1/4/ihk-kiel");
  EXPECT_EQ(ce->type, "de.amtsweg.notification.disclosed");
  EXPECT_EQ(ce->data["fields"].ToJson(), R"({"name":"Jensen GmbH","ags":"01002000"})");
  EXPECT_EQ(e.payload.find("not for chambers"), std::string::npos);
  Result<uint64_t> left = st->OutboxSize();
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(*left, 0u);
}

std::vector<std::string> MixedStream(uint32_t seed, int cases) {
  std::mt19937 rng(seed);
  std::vector<std::string> lines;
  const char* ags[] = {"01002000", "01003000"};
  const char* amt[] = {"amt-kiel", "amt-luebeck"};
  const char* ihk[] = {"ihk-kiel", "ihk-luebeck"};
  for (int i = 0; i < cases; ++i) {
    int town = static_cast<int>(rng() % 2);
    std::string c = "C-" + std::to_string(i);
    std::string day = "2026-01-" + std::string(i % 28 < 9 ? "0" : "") + std::to_string(i % 28 + 1);
    lines.push_back(Submit("a" + c, c, day + "T08:00:00Z", ags[town]));
    if (rng() % 4 == 0) lines.push_back("{broken " + c);
    lines.push_back(Complete("d" + c, c, day + "T09:00:00Z", amt[town]));
    if (rng() % 3 != 0) {
      lines.push_back(Event("r" + c, runtime::input_type::kTaskResponded, c, day + "T10:00:00Z",
                            ObjectBuilder().Add("task", "hearing").Build(), ihk[town]));
      lines.push_back(Event(
          "x" + c, runtime::input_type::kTaskResponded, c, day + "T11:00:00Z",
          ObjectBuilder().Add("task", "decision").Add("decision", "approved").Build(), amt[town]));
    }
  }
  lines.push_back(Event("late", runtime::input_type::kClockAdvanced, "", "2026-12-31T00:00:00Z"));
  return lines;
}

// Runs the stream to the end on the store in `path`, publishing to files in `path`/out.
void RunToEnd(const std::string& path, amtsweg::testing::TestWorld& world,
              const std::vector<std::string>& lines,
              std::function<void(store::Store&)> setup = nullptr) {
  auto st = store::Store::Open(path + "/db");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  if (setup) setup(**st);
  ManualClock clock;
  Engine engine(**st, world.registry, *world.directory, clock);
  ASSERT_TRUE(engine.Open().ok());
  MemorySource src(lines);
  auto sink = connectors::FileSink::Open(path + "/out");
  ASSERT_TRUE(sink.ok());
  Status s = engine.Drain(src, sink->get(), 7);
  EXPECT_TRUE(s.ok()) << s.ToString();
}

// Ids of every event published to `path`/out, with how often each arrived.
std::map<std::string, int> PublishedIds(const std::string& path) {
  std::map<std::string, int> ids;
  for (const auto& file : std::filesystem::directory_iterator(path + "/out")) {
    std::ifstream in(file.path());
    std::string line;
    while (std::getline(in, line)) {
      Result<runtime::InputEvent> e = DecodeCloudEvent(line);
      EXPECT_TRUE(e.ok()) << line;
      if (e.ok()) ids[e->id]++;
    }
  }
  return ids;
}

TEST_F(EngineTest, CrashAtEveryCommitPointLosesAndRepeatsNothing) {
  // AMTSWEG_TEST_SEED reproduces a run.
  const auto seed = static_cast<uint32_t>(amtsweg::testing::TestSeed());
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::vector<std::string> lines = MixedStream(seed, 40);

  TempDir reference_dir;
  RunToEnd(reference_dir.path(), world, lines);
  std::map<std::string, int> reference_ids = PublishedIds(reference_dir.path());
  auto ref_store = store::Store::Open(reference_dir.path() + "/db");
  ASSERT_TRUE(ref_store.ok());
  std::string reference = DumpCases(**ref_store);
  std::vector<std::string> reference_dead = DeadRecords(**ref_store);
  std::optional<Timestamp> reference_clock = StoredClock(**ref_store);
  ASSERT_TRUE(reference_clock.has_value());
  ref_store->reset();

  const store::CrashPoint points[] = {
      store::CrashPoint::kBeforeBatchBuilt,  store::CrashPoint::kAfterEventsStaged,
      store::CrashPoint::kAfterOutboxStaged, store::CrashPoint::kBeforeWrite,
      store::CrashPoint::kAfterWrite,        store::CrashPoint::kAfterOutboxDelete};
  std::mt19937 rng(seed);
  for (store::CrashPoint point : points) {
    SCOPED_TRACE(std::string(store::CrashPointName(point)));
    TempDir crash_dir;
    // Crash two times at this point, at random commits, then run to the end.
    int crashed = 0;
    for (int crash = 0; crash < 2; ++crash) {
      uint64_t at = 1 + rng() % 12;
      pid_t pid = fork();
      ASSERT_GE(pid, 0);
      if (pid == 0) {
        RunToEnd(crash_dir.path(), world, lines, [point, at](store::Store& s) {
          auto count = std::make_shared<uint64_t>(0);
          s.SetCrashHook([point, at, count](store::CrashPoint p) {
            if (p == point && ++*count == at) _exit(42);
          });
        });
        _exit(0);  // the stream ended before the chosen commit
      }
      int status = 0;
      ASSERT_EQ(waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFEXITED(status));
      ASSERT_TRUE(WEXITSTATUS(status) == 42 || WEXITSTATUS(status) == 0);
      crashed += WEXITSTATUS(status) == 42;
    }
    // The stream has about twenty commits, so the first crash always happens.
    ASSERT_GE(crashed, 1) << "the process never reached the crash point";
    RunToEnd(crash_dir.path(), world, lines);
    auto st = store::Store::Open(crash_dir.path() + "/db");
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(DumpCases(**st), reference);
    // The same dead letters, stamped with the same clock: a restart continues from the clock
    // committed before the crash instead of starting at 1970.
    EXPECT_EQ(DeadRecords(**st), reference_dead);
    EXPECT_EQ(StoredClock(**st), reference_clock);
    // Every outbound event went out at least once, and nothing else did.
    std::map<std::string, int> ids = PublishedIds(crash_dir.path());
    EXPECT_EQ(ids.size(), reference_ids.size());
    for (const auto& [id, count] : reference_ids) {
      EXPECT_EQ(count, 1) << id;
      EXPECT_GE(ids[id], 1) << "lost outbound event " << id;
    }
  }
  EXPECT_FALSE(reference_ids.empty());
}

// kill -9 between two runs: the next engine starts from the clock committed last, not at 1970,
// so what it refuses before reading a valid input is stamped with that clock.
TEST_F(EngineTest, RestartAfterAKillContinuesWithTheCommittedClock) {
  std::vector<std::string> lines = {
      Submit("a1", "C-1", "2026-01-15T09:00:00Z", "01002000"),
      Complete("d1", "C-1", "2026-01-15T10:00:00Z", "amt-kiel"),
      "{broken",  // never committed before the kill: the first input the next engine reads
      Submit("a2", "C-2", "2026-02-01T09:00:00Z", "01003000"),
      Submit("a3", "C-3", "2026-01-20T09:00:00Z", "01002000"),  // earlier than the clock
  };
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto st = store::Store::Open(dir.path() + "/db");
    if (!st.ok()) _exit(1);
    auto commits = std::make_shared<int>(0);
    (*st)->SetCrashHook([commits](store::CrashPoint p) {
      if (p == store::CrashPoint::kAfterWrite && ++*commits == 2) _exit(42);
    });
    ManualClock clock;
    Engine engine(**st, world.registry, *world.directory, clock);
    if (!engine.Open().ok()) _exit(1);
    MemorySource src(lines);
    (void)engine.Drain(src, nullptr, 1);  // one input per commit; killed after the second
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 42);

  auto st = OpenStore();
  EXPECT_EQ(StoredClock(*st), ParseTimestamp("2026-01-15T10:00:00Z").value());
  ManualClock clock;  // at 1970, as `amtsweg run` creates it
  Engine engine(*st, world.registry, *world.directory, clock);
  ASSERT_TRUE(engine.Open().ok());
  EXPECT_EQ(FormatTimestamp(engine.now()), "2026-01-15T10:00:00Z");
  EXPECT_EQ(FormatTimestamp(clock.Now()), "2026-01-15T10:00:00Z");  // the injected clock moved
  // Resumes at input 3, the broken line: refused before any valid input, at the restored clock.
  MemorySource src(lines);
  ASSERT_TRUE(engine.Drain(src, nullptr, 1).ok());
  EXPECT_EQ(engine.stats().inputs, 3u);
  EXPECT_EQ(FormatTimestamp(engine.now()), "2026-02-01T09:00:00Z");
  std::vector<std::string> dead = DeadRecords(*st);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].rfind("line 3 at 2026-01-15T10:00:00Z malformed malformed: ", 0), 0u)
      << dead[0];
  // An input from before the clock is handled, and leaves the clock where it is.
  EXPECT_TRUE(engine.LoadCase("C-3")->has_value());
  EXPECT_EQ(StoredClock(*st), ParseTimestamp("2026-02-01T09:00:00Z").value());
}

TEST_F(EngineTest, FailedCommitStoresNothingAndTheRetrySucceeds) {
  uint32_t seed = 7;
  std::vector<std::string> lines = MixedStream(seed, 10);
  TempDir reference_dir;
  RunToEnd(reference_dir.path(), world, lines);
  auto ref_store = store::Store::Open(reference_dir.path() + "/db");
  std::string reference = DumpCases(**ref_store);
  ref_store->reset();

  auto failures = std::make_shared<int>(0);
  store::Options options;
  options.fault_before_write_for_test = [failures]() {
    return ++*failures % 3 == 0 ? Status::IOError("injected: disk full") : Status::OK();
  };
  auto st = OpenStore(options);
  ManualClock clock;
  Engine engine(*st, world.registry, *world.directory, clock);
  ASSERT_TRUE(engine.Open().ok());
  MemorySource src(lines);
  int errors = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    Status s = engine.Drain(src, nullptr, 5);
    if (s.ok()) break;
    ++errors;
    EXPECT_NE(s.message().find("injected"), std::string::npos) << s.ToString();
  }
  EXPECT_GT(errors, 0);
  EXPECT_EQ(DumpCases(*st), reference);
}

}  // namespace
}  // namespace amtsweg::core
