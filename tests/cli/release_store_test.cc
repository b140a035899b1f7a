// A store written by an earlier release (tests/data/release-0.1.0): the current binary reads the
// same events the same way. Every chain verifies, every case replays to its snapshot, and what
// `case history`, `case show` and `dead-letters` print is byte for byte what that release
// printed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "engine/runtime/events.h"
#include "engine/store/store.h"
#include "tests/testing/binary.h"
#include "tests/testing/files.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg {
namespace {

namespace fs = std::filesystem;
using amtsweg::testing::JsonLines;
using amtsweg::testing::Output;
using amtsweg::testing::RunAmtsweg;

const std::string kData = std::string(AMTSWEG_SOURCE_DIR) + "/tests/data/release-0.1.0";

using amtsweg::testing::ReadFile;

class ReleaseStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = tmp_.path() + "/store";
    fs::create_directories(store_);
    std::string cmd = "tar xzf '" + kData + "/store.tgz' -C '" + store_ + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  Output Run(const std::string& args) { return RunAmtsweg(args + " --data-dir " + store_); }

  testing::TempDir tmp_{"amtsweg-release"};
  std::string store_;
};

TEST_F(ReleaseStoreTest, EveryChainVerifiesAndEveryCaseReplaysToItsSnapshot) {
  Output audit = Run("audit verify");
  ASSERT_EQ(audit.code, 0) << audit.out << audit.err;
  EXPECT_NE(audit.out.find("17 cases, 452 events: every hash chain intact"), std::string::npos)
      << audit.out;
  Output list = Run("case list --json");
  ASSERT_EQ(list.code, 0) << list.err;
  size_t cases = 0;
  for (const Value& c : JsonLines(list.out)) {
    Output replay = Run("replay --verify " + c["case"].as_string());
    EXPECT_EQ(replay.code, 0) << c["case"].as_string() << ": " << replay.err;
    EXPECT_NE(replay.err.find("snapshot matches the log"), std::string::npos) << replay.err;
    ++cases;
  }
  EXPECT_EQ(cases, 17u);
}

TEST_F(ReleaseStoreTest, HistoriesCasesAndDeadLettersReadTheSameBytes) {
  Output list = Run("case list --json");
  ASSERT_EQ(list.code, 0) << list.err;
  std::string history, shown;
  for (const Value& c : JsonLines(list.out)) {
    Output h = Run("case history " + c["case"].as_string());
    ASSERT_EQ(h.code, 0) << h.err;
    history += h.out;
    Output s = Run("case show --json " + c["case"].as_string());
    ASSERT_EQ(s.code, 0) << s.err;
    shown += s.out + "\n";
  }
  EXPECT_EQ(history, ReadFile(kData + "/history.jsonl"));
  EXPECT_EQ(shown, ReadFile(kData + "/cases.jsonl"));
  Output dead = Run("dead-letters --json");
  ASSERT_EQ(dead.code, 0) << dead.err;
  EXPECT_EQ(dead.out, ReadFile(kData + "/dead-letters.jsonl"));
}

// The typed events read every event the release stored and write it back to the same bytes, so
// the events a later release writes are those an older one would have (engine/runtime/events.h).
TEST_F(ReleaseStoreTest, EveryStoredEventEncodesBackToItsStoredBytes) {
  auto st = store::Store::Open(store_);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  std::vector<std::string> ids;
  ASSERT_TRUE((*st)
                  ->ScanCases([&](std::string_view id, const store::CaseRecord&) {
                    ids.emplace_back(id);
                    return true;
                  })
                  .ok());
  size_t events = 0;
  std::set<runtime::DomainType> types;
  for (const std::string& id : ids) {
    ASSERT_TRUE((*st)
                    ->ScanEvents(id, 1, UINT64_MAX,
                                 [&](const store::EventRecord& r) {
                                   Result<runtime::DomainEvent> e = runtime::DecodeEvent(r.payload);
                                   EXPECT_TRUE(e.ok())
                                       << id << " " << r.seq << ": " << e.status().ToString();
                                   if (!e.ok()) return false;
                                   std::string again;
                                   runtime::EncodeEvent(*e, &again);
                                   EXPECT_EQ(again, r.payload) << id << " " << r.seq;
                                   types.insert(e->type);
                                   ++events;
                                   return true;
                                 })
                    .ok());
  }
  EXPECT_EQ(events, 452u);
  // Every type of release 0.1.0: those up to notification.undeliverable (16); the later ones
  // (case.erased, case.migrated) have their encoding checked in tests/runtime/events_test.cc.
  EXPECT_EQ(types.size(), static_cast<size_t>(runtime::DomainType::kNotificationUndeliverable));
}

}  // namespace
}  // namespace amtsweg
