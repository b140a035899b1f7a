// The outbox publisher on its own: positions reported only when everything up to their batch is
// acknowledged, the in-flight bound, references expanded from the log, flushing.
#include "engine/core/outbox_publisher.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/runtime/events.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

using std::chrono::milliseconds;

using ::amtsweg::testing::TempDir;

// Acknowledges only what the test says.
class HeldSink final : public Sink {
 public:
  Status Send(std::vector<OutboundMessage> messages) override {
    for (OutboundMessage& m : messages)
      sent.push_back(std::move(m));
    return Status::OK();
  }
  Status Acknowledged(milliseconds, std::vector<uint64_t>* seqs) override {
    seqs->insert(seqs->end(), ready.begin(), ready.end());
    ready.clear();
    return Status::OK();
  }
  std::vector<OutboundMessage> sent;
  std::vector<uint64_t> ready;  // acknowledged at the next Acknowledged
};

// Records what it is told is delivered.
class RecordingSource final : public Source {
 public:
  const std::string& name() const override { return name_; }
  Status Start(const PositionLookup&) override { return Status::OK(); }
  Result<size_t> Poll(size_t, milliseconds, std::vector<RawInput>*) override { return size_t{0}; }
  void PositionsAfterPoll(Positions*) const override {}
  bool AtEnd() const override { return true; }
  void Committed(const Positions& positions) override { reports.push_back(positions); }
  std::vector<Positions> reports;

 private:
  std::string name_ = "recording";
};

store::OutboxEntry Entry(std::string id) {
  store::OutboxEntry e;
  e.destination = "d";
  e.key = "C";
  e.id = std::move(id);
  e.payload = "{}";
  return e;
}

class OutboxPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = store::Store::Open(dir_.path() + "/db");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
  }
  // Stores a batch of outbox entries and hands it to `publisher`, as the batch writer does.
  void Commit(OutboxPublisher& publisher, std::vector<store::OutboxEntry> outbox,
              Positions positions, std::vector<store::CaseWrite> cases = {}) {
    store::Batch b;
    b.outbox = std::move(outbox);
    b.cases = std::move(cases);
    b.positions = positions;
    Result<store::CommitResult> r = store_->Commit(b);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    publisher.Committed(CommittedBatch{r->last_outbox_seq, b.outbox.size(), std::move(positions)});
  }
  uint64_t OutboxSize() {
    Result<uint64_t> n = store_->OutboxSize();
    EXPECT_TRUE(n.ok());
    return n.ok() ? *n : 0;
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(OutboxPublisherTest, ABatchIsReportedWhenEveryEntryUpToItsLastIsAcknowledged) {
  OutboxPublisher publisher(*store_, {});
  ASSERT_TRUE(publisher.Open().ok());
  HeldSink sink;
  RecordingSource source;
  Commit(publisher, {Entry("a"), Entry("b")}, {{"p", "1"}});  // seqs 1, 2
  Commit(publisher, {Entry("c")}, {{"p", "2"}});              // seq 3
  Commit(publisher, {}, {{"q", "9"}});                        // nothing of its own
  EXPECT_EQ(publisher.backlog(), 3u);

  ASSERT_TRUE(publisher.Publish(sink, &source, milliseconds(0)).ok());
  EXPECT_EQ(sink.sent.size(), 3u);
  EXPECT_TRUE(source.reports.empty());
  sink.ready = {2};
  ASSERT_TRUE(publisher.Publish(sink, &source, milliseconds(0)).ok());
  EXPECT_TRUE(source.reports.empty()) << "seq 1 is not acknowledged";
  sink.ready = {1};
  ASSERT_TRUE(publisher.Publish(sink, &source, milliseconds(0)).ok());
  ASSERT_EQ(source.reports.size(), 1u);
  EXPECT_EQ(source.reports[0], (Positions{{"p", "1"}}));
  sink.ready = {3, 3};  // a second acknowledgement of a seq no longer in flight is ignored
  ASSERT_TRUE(publisher.Publish(sink, &source, milliseconds(0)).ok());
  ASSERT_EQ(source.reports.size(), 2u);
  EXPECT_EQ(source.reports[1], (Positions{{"p", "2"}, {"q", "9"}}));
  EXPECT_EQ(publisher.published(), 3u);
  EXPECT_EQ(publisher.backlog(), 0u);
  EXPECT_EQ(OutboxSize(), 0u);
  // Offered once: nothing is handed over again.
  ASSERT_TRUE(publisher.Publish(sink, &source, milliseconds(0)).ok());
  EXPECT_EQ(sink.sent.size(), 3u);
}

TEST_F(OutboxPublisherTest, NoMoreThanTheBoundIsInFlight) {
  OutboxPublisherOptions options;
  options.max_in_flight = 2;
  OutboxPublisher publisher(*store_, options);
  ASSERT_TRUE(publisher.Open().ok());
  Commit(publisher, {Entry("a"), Entry("b"), Entry("c")}, {});
  HeldSink sink;
  ASSERT_TRUE(publisher.Publish(sink, nullptr, milliseconds(0)).ok());
  EXPECT_EQ(sink.sent.size(), 2u);
  ASSERT_TRUE(publisher.Publish(sink, nullptr, milliseconds(0)).ok());
  EXPECT_EQ(sink.sent.size(), 2u);
  sink.ready = {1};
  ASSERT_TRUE(publisher.Publish(sink, nullptr, milliseconds(0)).ok());
  // The acknowledgement is collected after handing over: the room it made is used next time.
  EXPECT_EQ(sink.sent.size(), 2u);
  ASSERT_TRUE(publisher.Publish(sink, nullptr, milliseconds(0)).ok());
  ASSERT_EQ(sink.sent.size(), 3u);
  EXPECT_EQ(sink.sent[2].id, "c");
}

TEST_F(OutboxPublisherTest, AReferenceBecomesOneMessagePerEventAndLeavesWithTheLast) {
  OutboxPublisher publisher(*store_, {});
  ASSERT_TRUE(publisher.Open().ok());
  store::CaseWrite w;
  w.case_id = "C";
  w.snapshot = "s";
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    runtime::VariableSet set;
    set.name = "n";
    set.value = Value(static_cast<int64_t>(seq));
    runtime::EncodeEvent(runtime::MakeEvent(seq, 1000 * static_cast<Timestamp>(seq), "", set),
                         &w.events.emplace_back());
  }
  store::OutboxEntry ref;
  ref.destination = "audit";
  ref.key = "C";
  ref.event_from = 1;
  ref.event_to = 3;
  Commit(publisher, {ref}, {{"p", "1"}}, {w});
  HeldSink sink;
  RecordingSource source;
  ASSERT_TRUE(publisher.Publish(sink, &source, milliseconds(0)).ok());
  ASSERT_EQ(sink.sent.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sink.sent[i].seq, 1u);
    EXPECT_EQ(sink.sent[i].destination, "audit");
    EXPECT_EQ(sink.sent[i].key, "C");
    EXPECT_EQ(sink.sent[i].id, "C/" + std::to_string(i + 1));
    EXPECT_NE(sink.sent[i].payload.find(R"("chain":")"), std::string::npos);
  }
  sink.ready = {1, 1};
  ASSERT_TRUE(publisher.Publish(sink, &source, milliseconds(0)).ok());
  EXPECT_EQ(OutboxSize(), 1u);
  EXPECT_TRUE(source.reports.empty());
  sink.ready = {1};
  ASSERT_TRUE(publisher.Publish(sink, &source, milliseconds(0)).ok());
  EXPECT_EQ(OutboxSize(), 0u);
  EXPECT_EQ(source.reports.size(), 1u);

  // A reference to events the log does not have.
  ref.event_from = 3;
  ref.event_to = 5;
  Commit(publisher, {ref}, {});
  Status s = publisher.Publish(sink, &source, milliseconds(0));
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
}

TEST_F(OutboxPublisherTest, FlushGivesUpAfterItsTimeoutAndWithoutASinkPositionsGoAtOnce) {
  OutboxPublisher publisher(*store_, {});
  ASSERT_TRUE(publisher.Open().ok());
  Commit(publisher, {Entry("a")}, {{"p", "1"}});
  Commit(publisher, {Entry("b")}, {{"p", "2"}});
  HeldSink sink;
  Status s = publisher.Flush(sink, nullptr, milliseconds(10));
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("2 outbound entries"), std::string::npos) << s.message();

  RecordingSource source;
  publisher.ReleaseWithoutSink(source);
  ASSERT_EQ(source.reports.size(), 1u);
  EXPECT_EQ(source.reports[0], (Positions{{"p", "1"}, {"p", "2"}}));
  publisher.ReleaseWithoutSink(source);
  EXPECT_EQ(source.reports.size(), 1u);

  // A publisher of a later process counts what is left and delivers it.
  OutboxPublisher restarted(*store_, {});
  ASSERT_TRUE(restarted.Open().ok());
  EXPECT_EQ(restarted.backlog(), 2u);
  HeldSink acking;
  acking.ready = {1, 2};
  ASSERT_TRUE(restarted.Flush(acking, nullptr, milliseconds(1000)).ok());
  EXPECT_EQ(acking.sent.size(), 2u);
  EXPECT_EQ(restarted.backlog(), 0u);
}

}  // namespace
}  // namespace amtsweg::core
