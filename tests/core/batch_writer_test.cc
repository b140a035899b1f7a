// The batch writer on its own: working states from the cache or the store, what a write stores
// (events, snapshot, index changes, outbox, seen ids, positions), an empty batch, abandoning.
#include "engine/core/batch_writer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/case_index.h"
#include "engine/runtime/runtime.h"
#include "tests/runtime/test_workflow.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

using amtsweg::testing::Application;
using amtsweg::testing::Input;

using ::amtsweg::testing::TempDir;

class BatchWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = store::Store::Open(dir_.path() + "/db");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
  }
  // Runs `in` against its case's working state and stages its events and outbound entries.
  void Apply(BatchWriter& writer, const runtime::InputEvent& in, bool* found) {
    BatchWriter::WorkingCase* work = writer.Working(in.subject, found);
    ASSERT_NE(work, nullptr);
    runtime::StepResult r = runtime_.Handle(in, &work->state);
    for (const runtime::DomainEvent& e : r.events) {
      runtime::EncodeEvent(e, &work->events.emplace_back());
      writer.AddOutbox(work->state, e);
    }
  }
  std::vector<std::string> Index(std::string_view prefix) {
    std::vector<std::string> keys;
    EXPECT_TRUE(store_
                    ->ScanIndex(prefix,
                                [&](std::string_view k) {
                                  keys.emplace_back(k);
                                  return true;
                                })
                    .ok());
    return keys;
  }

  amtsweg::testing::TestWorld world_;
  runtime::Runtime runtime_{world_.registry, *world_.directory};
  TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(BatchWriterTest, AWriteStoresTheBatchAndKeepsTheStateInTheCache) {
  BatchWriter writer(*store_, *world_.directory, {});
  writer.Begin();
  bool found = true;
  Apply(writer,
        Input("s1", runtime::input_type::kApplicationSubmitted, "C-1", "2026-01-15T09:00:00Z",
              Application("01002000")),
        &found);
  EXPECT_FALSE(found) << "a new case";
  ASSERT_FALSE(writer.SeenInBatch("test\x1fs1"));
  writer.AddSeen("test\x1fs1");
  EXPECT_TRUE(writer.SeenInBatch("test\x1fs1"));
  writer.Stage({{"file:x", "1"}});
  EXPECT_FALSE(writer.StagedEmpty());
  Result<BatchWriter::Written> written = writer.Write(std::nullopt);
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_TRUE(written->stored);
  EXPECT_GT(written->outbox_entries, 0u) << "the test workflow discloses to the chamber";
  EXPECT_EQ(written->last_outbox_seq, written->outbox_entries);

  Result<std::optional<runtime::CaseState>> cached = writer.LoadCase("C-1");
  ASSERT_TRUE(cached.ok() && cached->has_value());
  Result<std::optional<runtime::CaseState>> stored = LoadCaseState(*store_, "C-1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*cached)->seq, (*stored)->seq);
  EXPECT_EQ(Index(""), IndexKeys(**stored));
  Result<std::optional<std::string>> position = store_->GetPosition("file:x");
  ASSERT_TRUE(position.ok());
  EXPECT_EQ(position->value_or(""), "1");
  Result<bool> seen = store_->Seen(std::string_view("test\x1fs1"));
  ASSERT_TRUE(seen.ok());
  EXPECT_TRUE(*seen);

  // The next batch takes the state out of the cache; abandoning it drops the cache with it.
  writer.Begin();
  Apply(writer,
        Input("c1", runtime::input_type::kDocumentsCompleted, "C-1", "2026-01-15T10:00:00Z",
              Value::Object({}), "amt-kiel"),
        &found);
  EXPECT_TRUE(found);
  writer.Abandon();
  Result<std::optional<runtime::CaseState>> after = writer.LoadCase("C-1");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->seq, (*stored)->seq) << "nothing of the abandoned batch is stored";
}

TEST_F(BatchWriterTest, AnEmptyBatchIsNotWrittenButItsClockIs) {
  BatchWriter writer(*store_, *world_.directory, {});
  writer.Begin();
  writer.Stage({});
  EXPECT_TRUE(writer.StagedEmpty());
  Result<BatchWriter::Written> written = writer.Write(std::nullopt);
  ASSERT_TRUE(written.ok());
  EXPECT_FALSE(written->stored);
  writer.Begin();
  writer.Stage({});
  written = writer.Write(Timestamp{5000});
  ASSERT_TRUE(written.ok());
  EXPECT_TRUE(written->stored);
  Result<std::optional<Timestamp>> clock = store_->GetClock();
  ASSERT_TRUE(clock.ok());
  EXPECT_EQ(*clock, Timestamp{5000});
}

TEST_F(BatchWriterTest, DeadLettersOfReplayedInputsAreNotSentAgain) {
  BatchWriterOptions options;
  options.dead_letter_destination = "dlq";
  BatchWriter writer(*store_, *world_.directory, options);
  writer.Begin();
  RawInput raw;
  raw.bytes = "{not json";
  raw.where = "line 1";
  writer.AddDeadLetter(raw, "file:x", "malformed", "bad", 1000);
  raw.where = "line 2";
  raw.replay = true;
  writer.AddDeadLetter(raw, "file:x", "malformed", "bad", 1000);
  writer.Stage({});
  Result<BatchWriter::Written> written = writer.Write(std::nullopt);
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(written->outbox_entries, 1u);
  size_t dead = 0;
  ASSERT_TRUE(store_
                  ->ScanDeadLetters([&](const store::DeadLetter& d) {
                    EXPECT_EQ(d.reason, "malformed: bad");
                    ++dead;
                    return true;
                  })
                  .ok());
  EXPECT_EQ(dead, 2u);
}

}  // namespace
}  // namespace amtsweg::core
