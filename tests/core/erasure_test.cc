// Sealing and erasure in the engine (engine/core/erasure.cc, docs/data-protection.md): personal
// values are stored sealed, an administrator's erasure records case.erased and destroys the key,
// the retention period erases by itself, a crash at each step leaves the case untouched or
// erased, and a store restored from before an erasure gets the erasure again.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/core/case_keys.h"
#include "engine/core/case_query.h"
#include "engine/core/engine.h"
#include "engine/crypto/kek.h"
#include "engine/crypto/key_store.h"
#include "tests/runtime/test_workflow.h"
#include "tests/testing/files.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

namespace fs = std::filesystem;
using amtsweg::testing::FilesContaining;
using amtsweg::testing::TempDir;

constexpr char kSecret[] = "not for chambers";  // a value of the application (test_workflow.h)

std::string Event(std::string id, std::string_view type, std::string_view time, Value data,
                  std::string participant = "") {
  ObjectBuilder b;
  b.Add("specversion", "1.0").Add("id", std::move(id)).Add("source", "test");
  b.Add("type", type).Add("subject", "C-1").Add("time", time);
  if (!participant.empty()) b.Add("participant", std::move(participant));
  b.Add("data", std::move(data));
  return b.Build().ToJson();
}

RawInput Raw(std::string bytes, std::string admin = "") {
  RawInput r;
  r.bytes = std::move(bytes);
  r.size = r.bytes.size();
  r.where = "test";
  r.admin = std::move(admin);
  return r;
}

// Opens, hears and approves case C-1 (test_workflow.h).
std::vector<RawInput> ClosedCase() {
  using runtime::input_type::kTaskResponded;
  return {
      Raw(Event("a1", runtime::input_type::kApplicationSubmitted, "2026-01-15T09:00:00Z",
                testing::Application("01002000"))),
      Raw(Event("d1", runtime::input_type::kDocumentsCompleted, "2026-01-15T10:00:00Z",
                Value::Object({}), "amt-kiel")),
      Raw(Event("r1", kTaskResponded, "2026-01-16T10:00:00Z",
                ObjectBuilder().Add("task", "hearing").Add("note", "Herr Jensen rief an").Build(),
                "ihk-kiel")),
      Raw(Event("r2", kTaskResponded, "2026-01-17T10:00:00Z",
                ObjectBuilder().Add("task", "decision").Add("decision", "approved").Build(),
                "amt-kiel")),
  };
}

RawInput Erasure(std::string id = "e1", std::string admin = "local:test") {
  return Raw(Event(std::move(id), runtime::input_type::kErasureRequested, "2026-02-01T10:00:00Z",
                   ObjectBuilder()
                       .Add("reason", "Antrag der Betroffenen")
                       .Add("basis", "Art. 17(1)(a) DSGVO")
                       .Build()),
             std::move(admin));
}

class ErasureTest : public ::testing::Test {
 protected:
  // The store, the key store and an engine on them; `yaml` replaces the test workflow.
  struct Open {
    std::unique_ptr<store::Store> store;
    std::unique_ptr<crypto::KeyStore> keys;
    std::unique_ptr<CaseKeys> case_keys;
    std::unique_ptr<ManualClock> clock;
    std::unique_ptr<Engine> engine;
  };

  void SetUp() override { kek_ = crypto::NewKekLine("test"); }

  Open Start(const std::function<void(crypto::KeyStore::Options*)>& key_options = nullptr) {
    Open o;
    auto st = store::Store::Open(dir_.path() + "/db");
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    o.store = std::move(st).value();
    auto keks = crypto::ParseKeks(kek_, "test");
    EXPECT_TRUE(keks.ok());
    crypto::KeyStore::Options options;
    if (key_options) key_options(&options);
    auto ks = crypto::KeyStore::Open(dir_.path() + "/keys", std::move(keks).value(), options);
    EXPECT_TRUE(ks.ok()) << ks.status().ToString();
    o.keys = std::move(ks).value();
    o.case_keys = std::make_unique<CaseKeys>(*o.keys);
    o.clock = std::make_unique<ManualClock>();
    EngineOptions eo;
    eo.keys = o.case_keys.get();
    o.engine = std::make_unique<Engine>(*o.store, registry(), *world_.directory, *o.clock, eo);
    EXPECT_TRUE(o.engine->Open().ok());
    return o;
  }

  virtual const dsl::Registry& registry() { return world_.registry; }

  std::string History(Open& o) {
    Result<std::vector<HistoryEntry>> h = ReadHistory(*o.store, "C-1", o.case_keys.get());
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    std::string out;
    for (const HistoryEntry& e : h.ok() ? *h : std::vector<HistoryEntry>())
      out += FullEventView(e).ToJson() + "\n";
    return out;
  }

  testing::TestWorld world_;
  TempDir dir_;
  std::string kek_;
};

TEST_F(ErasureTest, PersonalValuesAreStoredSealedAndReadWithTheKey) {
  {
    Open o = Start();
    ASSERT_TRUE(o.engine->ProcessBatch(ClosedCase(), "test", {}).ok());
  }  // closed: everything is in its files
  EXPECT_EQ(FilesContaining(dir_.path() + "/db", kSecret), std::vector<std::string>());
  EXPECT_EQ(FilesContaining(dir_.path() + "/db", "Herr Jensen"), std::vector<std::string>());
  Open again = Start();
  std::string history = History(again);
  EXPECT_NE(history.find(kSecret), std::string::npos) << history;
  EXPECT_NE(history.find("Herr Jensen rief an"), std::string::npos);
  EXPECT_NE(history.find("\"ags\":\"01002000\""), std::string::npos);  // stays readable
  Result<Verification> v = VerifyCase(*again.store, "C-1", again.case_keys.get());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok()) << v->chain_error;
}

TEST_F(ErasureTest, AnAdministratorsErasureDestroysTheKeyAndTellsTheRecipients) {
  Open o = Start();
  ASSERT_TRUE(o.engine->ProcessBatch(ClosedCase(), "test", {}).ok());
  std::vector<InputVerdict> verdicts;
  ASSERT_TRUE(o.engine->ProcessBatch({Erasure()}, "test", {}, {}, &verdicts).ok());
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].kind, "") << verdicts[0].reason;
  Result<std::optional<crypto::DataKey>> key = o.keys->Get("C-1");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value());
  Result<std::optional<crypto::Erasure>> recorded = o.keys->Erased("C-1");
  ASSERT_TRUE(recorded.ok() && recorded->has_value());
  EXPECT_EQ((*recorded)->by, "local:test");
  EXPECT_EQ((*recorded)->basis, "Art. 17(1)(a) DSGVO");

  std::string history = History(o);
  EXPECT_EQ(history.find(kSecret), std::string::npos) << history;
  EXPECT_NE(history.find("\"erased\":["), std::string::npos);
  EXPECT_NE(history.find("\"type\":\"case.erased\""), std::string::npos);
  Result<std::optional<runtime::CaseState>> s = o.engine->LoadCase("C-1");
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_TRUE((*s)->erased());
  EXPECT_EQ((*s)->outcome, "approved");
  // ihk-kiel was told the name and ags (the start's notify) and asked to hear: it gets a notice.
  bool noticed = false;
  ASSERT_TRUE(o.store
                  ->ScanOutbox([&](const store::OutboxEntry& e) {
                    if (e.payload.find("de.amtsweg.case.erased") != std::string::npos &&
                        e.destination.find("ihk-kiel") != std::string::npos)
                      noticed = true;
                    return true;
                  })
                  .ok());
  EXPECT_TRUE(noticed);
  Result<Verification> v = VerifyCase(*o.store, "C-1", o.case_keys.get());
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok()) << v->chain_error;

  // Again: nothing more happens.
  ASSERT_TRUE(o.engine->ProcessBatch({Erasure("e2")}, "test", {}, {}, &verdicts).ok());
  EXPECT_EQ(verdicts[0].kind, "");
  EXPECT_EQ(History(o), history);
}

TEST_F(ErasureTest, ErasureIsRefusedWithoutAnAdministratorAndForAnOpenCase) {
  Open o = Start();
  std::vector<RawInput> open = ClosedCase();
  open.resize(2);  // submitted, documents complete: in the hearing
  ASSERT_TRUE(o.engine->ProcessBatch(open, "test", {}).ok());
  std::vector<InputVerdict> verdicts;
  ASSERT_TRUE(o.engine->ProcessBatch({Erasure("e1", "")}, "test", {}, {}, &verdicts).ok());
  EXPECT_EQ(verdicts[0].kind, "forbidden");
  ASSERT_TRUE(o.engine->ProcessBatch({Erasure("e2")}, "test", {}, {}, &verdicts).ok());
  EXPECT_EQ(verdicts[0].kind, "open-case");
  Result<std::optional<crypto::DataKey>> key = o.keys->Get("C-1");
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->has_value());
  EXPECT_NE(History(o).find(kSecret), std::string::npos);
}

// A crash at each step of an erasure: afterwards (on the next Open) the case is either untouched
// or fully erased.
TEST_F(ErasureTest, ACrashAtEachStepLeavesTheCaseUntouchedOrErased) {
  struct Point {
    const char* name;
    std::optional<store::CrashPoint> store_point;  // else: after the key store's write
    bool erased;
  };
  const std::vector<Point> points = {
      {"before_write", store::CrashPoint::kBeforeWrite, false},
      {"after_write", store::CrashPoint::kAfterWrite, true},
      {"after_key_destroyed", std::nullopt, true},
  };
  for (const Point& p : points) {
    SCOPED_TRACE(p.name);
    fs::remove_all(dir_.path() + "/db");
    fs::remove_all(dir_.path() + "/keys");
    {
      Open o = Start();
      ASSERT_TRUE(o.engine->ProcessBatch(ClosedCase(), "test", {}).ok());
    }
    fflush(nullptr);
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Open o = Start([&p](crypto::KeyStore::Options* ko) {
        if (!p.store_point) ko->after_destroy_write_for_test = [] { _exit(99); };
      });
      if (p.store_point) {
        o.store->SetCrashHook([&p](store::CrashPoint at) {
          if (at == *p.store_point) _exit(99);
        });
      }
      Status s = o.engine->ProcessBatch({Erasure()}, "test", {});
      _exit(s.ok() ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 99);

    Open o = Start();  // Open finishes what the crash interrupted
    Result<std::optional<crypto::DataKey>> key = o.keys->Get("C-1");
    ASSERT_TRUE(key.ok());
    std::string history = History(o);
    bool pending = false;
    ASSERT_TRUE(o.store
                    ->ScanPendingErasures([&](std::string_view) {
                      pending = true;
                      return true;
                    })
                    .ok());
    EXPECT_FALSE(pending);
    if (p.erased) {
      EXPECT_FALSE(key->has_value());
      EXPECT_NE(history.find("case.erased"), std::string::npos);
      EXPECT_EQ(history.find(kSecret), std::string::npos);
      Result<std::optional<crypto::Erasure>> recorded = o.keys->Erased("C-1");
      ASSERT_TRUE(recorded.ok());
      EXPECT_TRUE(recorded->has_value());
    } else {
      EXPECT_TRUE(key->has_value());
      EXPECT_EQ(history.find("case.erased"), std::string::npos);
      EXPECT_NE(history.find(kSecret), std::string::npos);
    }
  }
}

TEST_F(ErasureTest, AStoreRestoredFromBeforeAnErasureGetsTheErasureAgain) {
  {
    Open o = Start();
    ASSERT_TRUE(o.engine->ProcessBatch(ClosedCase(), "test", {}).ok());
  }
  fs::copy(dir_.path() + "/db", dir_.path() + "/backup", fs::copy_options::recursive);
  {
    Open o = Start();
    ASSERT_TRUE(o.engine->ProcessBatch({Erasure()}, "test", {}).ok());
  }
  fs::remove_all(dir_.path() + "/db");
  fs::rename(dir_.path() + "/backup", dir_.path() + "/db");  // the old store, the current keys
  Open o = Start();
  std::string history = History(o);
  EXPECT_EQ(history.find(kSecret), std::string::npos) << history;
  EXPECT_NE(history.find("case.erased"), std::string::npos);
  EXPECT_NE(history.find("recorded again"), std::string::npos);
  Result<std::optional<runtime::CaseState>> s = o.engine->LoadCase("C-1");
  ASSERT_TRUE(s.ok() && s->has_value());
  EXPECT_TRUE((*s)->erased());
}

// The same workflow with a retention period of one month after closing.
class RetentionTest : public ErasureTest {
 protected:
  void SetUp() override {
    ErasureTest::SetUp();
    std::string yaml = testing::kWorkflowYaml;
    yaml.replace(yaml.find("version: 1\n"), 11,
                 "version: 1\nretention: {period: P1M, basis: \"Aktenordnung, Frist 1 Monat\"}\n");
    dsl::LoadResult r = dsl::LoadDefinition(yaml, "testflow.yaml", world_.directory.get());
    for (const auto& e : r.errors)
      ADD_FAILURE() << e.ToString();
    ASSERT_TRUE(with_retention_.Add(r.definition).ok());
  }
  const dsl::Registry& registry() override { return with_retention_; }
  dsl::Registry with_retention_;
};

TEST_F(RetentionTest, TheRetentionPeriodErasesTheClosedCase) {
  Open o = Start();
  ASSERT_TRUE(o.engine->ProcessBatch(ClosedCase(), "test", {}).ok());
  bool armed = false;
  ASSERT_TRUE(o.store
                  ->DueTimers(INT64_MAX,
                              [&](const store::Timer& t) {
                                if (t.name == kRetentionTimer) {
                                  armed = true;
                                  EXPECT_EQ(FormatTimestamp(t.due), "2026-02-17T10:00:00Z");
                                }
                                return true;
                              })
                  .ok());
  EXPECT_TRUE(armed);
  ASSERT_TRUE(o.engine->AdvanceClock(*ParseTimestamp("2026-02-17T09:59:59Z")).ok());
  EXPECT_EQ(History(o).find("case.erased"), std::string::npos);
  ASSERT_TRUE(o.engine->AdvanceClock(*ParseTimestamp("2026-02-17T10:00:00Z")).ok());
  std::string history = History(o);
  EXPECT_NE(history.find("\"by\":\"retention\""), std::string::npos) << history;
  EXPECT_NE(history.find("Aktenordnung, Frist 1 Monat"), std::string::npos);
  EXPECT_EQ(history.find(kSecret), std::string::npos);
  Result<std::optional<crypto::DataKey>> key = o.keys->Get("C-1");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value());
}

}  // namespace
}  // namespace amtsweg::core
