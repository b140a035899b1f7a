// Engine::Settle's callback contract: allowed from inside the polled source's Poll during Run
// (as the Kafka source's revoke handler calls it) and outside Run; refused during a batch.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/core/engine.h"
#include "tests/runtime/test_workflow.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

using std::chrono::milliseconds;

using ::amtsweg::testing::TempDir;

RawInput Bad(std::string where) {
  RawInput raw;
  raw.bytes = "{not json";
  raw.where = std::move(where);
  raw.size = raw.bytes.size();
  return raw;
}

// Returns `inputs` at its first Poll, then nothing; calls `in_poll` from inside its first Poll.
class HookSource final : public Source {
 public:
  const std::string& name() const override { return name_; }
  Status Start(const PositionLookup&) override { return Status::OK(); }
  Result<size_t> Poll(size_t, milliseconds, std::vector<RawInput>* out) override {
    if (polls_++ > 0) return size_t{0};
    if (in_poll) in_poll();
    out->insert(out->end(), inputs.begin(), inputs.end());
    return inputs.size();
  }
  void PositionsAfterPoll(Positions* out) const override { out->emplace_back("hook", "1"); }
  bool AtEnd() const override { return polls_ > 1; }
  std::vector<RawInput> inputs;
  std::function<void()> in_poll;

 private:
  std::string name_ = "hook";
  int polls_ = 0;
};

// Acknowledges everything; calls `in_send` from inside Send.
class HookSink final : public Sink {
 public:
  Status Send(std::vector<OutboundMessage> messages) override {
    if (in_send) in_send();
    for (const OutboundMessage& m : messages)
      acked_.push_back(m.seq);
    return Status::OK();
  }
  Status Acknowledged(milliseconds, std::vector<uint64_t>* seqs) override {
    seqs->insert(seqs->end(), acked_.begin(), acked_.end());
    acked_.clear();
    return Status::OK();
  }
  std::function<void()> in_send;

 private:
  std::vector<uint64_t> acked_;
};

class EngineSettleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = store::Store::Open(dir_.path() + "/db");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
  }
  std::string Position(const std::string& key) {
    Result<std::optional<std::string>> p = store_->GetPosition(key);
    EXPECT_TRUE(p.ok());
    return p.ok() ? p->value_or("") : "";
  }

  amtsweg::testing::TestWorld world_;
  TempDir dir_;
  std::unique_ptr<store::Store> store_;
  ManualClock clock_;
};

TEST_F(EngineSettleTest, FromInsidePollDuringRunItProcessesAndPublishes) {
  EngineOptions options;
  options.dead_letter_destination = "dlq";
  Engine engine(*store_, world_.registry, *world_.directory, clock_, options);
  ASSERT_TRUE(engine.Open().ok());
  HookSource source;
  HookSink sink;
  Status settled = Status::Internal("not called");
  source.in_poll = [&] {
    settled = engine.Settle(source, &sink, {Bad("given up")}, {{"gone", "7"}}, milliseconds(1000));
  };
  source.inputs = {Bad("kept")};
  ASSERT_TRUE(engine.Drain(source, &sink, 10).ok());
  EXPECT_TRUE(settled.ok()) << settled.ToString();
  EXPECT_EQ(engine.stats().inputs, 2u);
  EXPECT_EQ(engine.stats().batches,
            2u);  // settled, polled (the empty poll at the end wrote nothing)
  EXPECT_EQ(engine.stats().published, 2u);
  EXPECT_EQ(Position("gone"), "7");
  EXPECT_EQ(Position("hook"), "1");
}

TEST_F(EngineSettleTest, DuringABatchItIsRefusedAndOutsideRunItWorks) {
  EngineOptions options;
  options.dead_letter_destination = "dlq";
  Engine engine(*store_, world_.registry, *world_.directory, clock_, options);
  ASSERT_TRUE(engine.Open().ok());
  HookSource source;
  HookSink sink;
  Status settled;
  sink.in_send = [&] { settled = engine.Settle(source, nullptr, {}, {}, milliseconds(0)); };
  source.inputs = {Bad("line 1")};
  ASSERT_TRUE(engine.Drain(source, &sink, 10).ok());
  EXPECT_EQ(settled.code(), Status::Code::kInternal) << settled.ToString();
  EXPECT_EQ(engine.stats().inputs, 1u);

  sink.in_send = nullptr;
  ASSERT_TRUE(
      engine.Settle(source, &sink, {Bad("line 2")}, {{"hook", "2"}}, milliseconds(1000)).ok());
  EXPECT_EQ(engine.stats().inputs, 2u);
  EXPECT_EQ(Position("hook"), "2");
}

}  // namespace
}  // namespace amtsweg::core
