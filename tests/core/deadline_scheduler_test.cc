// The event-time clock and the deadline scheduler on their own: restoring and committing the
// clock, busy lanes holding it, the order timers are taken in, re-arming, ownership by lane.
#include "engine/core/deadline_scheduler.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/testing/fixed_clock.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::core {
namespace {

using ::amtsweg::testing::TempDir;

using ::amtsweg::testing::FixedClock;

// A source whose lanes are set by the test: case "L<n>-..." is on lane n.
class LaneSource final : public Source {
 public:
  const std::string& name() const override { return name_; }
  Status Start(const PositionLookup&) override { return Status::OK(); }
  Result<size_t> Poll(size_t, std::chrono::milliseconds, std::vector<RawInput>*) override {
    return size_t{0};
  }
  void PositionsAfterPoll(Positions*) const override {}
  bool AtEnd() const override { return true; }
  std::optional<uint32_t> CaseLane(std::string_view case_id) const override {
    return static_cast<uint32_t>(case_id[1] - '0');
  }
  bool OwnsLane(uint32_t lane) const override {
    return std::find(owned.begin(), owned.end(), lane) != owned.end();
  }
  uint64_t LaneGeneration() const override { return generation; }

  std::vector<uint32_t> owned = {0, 1};
  uint64_t generation = 1;

 private:
  std::string name_ = "lanes";
};

RawInput OnLane(uint32_t lane) {
  RawInput raw;
  raw.lane = lane;
  return raw;
}

class DeadlineSchedulerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto st = store::Store::Open(dir_.path() + "/db");
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
  }
  // Commits timers (and a clock) straight into the store.
  void StoreTimers(std::vector<store::Timer> timers, std::optional<Timestamp> clock = {}) {
    store::Batch b;
    b.timers_add = std::move(timers);
    b.clock = clock;
    ASSERT_TRUE(store_->Commit(b).ok());
  }

  TempDir dir_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(DeadlineSchedulerTest, AnEventTimeClockIsRestoredAndNeverMovesBack) {
  StoreTimers({}, 5000);
  ManualClock manual(0);
  DeadlineScheduler scheduler(*store_, EventClock(manual));
  ASSERT_TRUE(scheduler.Open().ok());
  EXPECT_TRUE(scheduler.clock().driven());
  EXPECT_EQ(scheduler.clock().now(), 5000);
  EXPECT_EQ(manual.Now(), 5000);  // the injected clock moved
  scheduler.clock().AdvanceTo(4000);
  EXPECT_EQ(scheduler.clock().now(), 5000);
  // Nothing new to commit until it moves; then it goes with every batch, also an empty one.
  EXPECT_FALSE(scheduler.clock().ToCommit(false).has_value());
  scheduler.clock().AdvanceTo(6000);
  EXPECT_EQ(scheduler.clock().ToCommit(false), 6000);
  scheduler.clock().Committed(6000);
  EXPECT_FALSE(scheduler.clock().ToCommit(true).has_value());
}

TEST_F(DeadlineSchedulerTest, AClockTheEngineOnlyReadsIsNeverEarlierThanTheRestoredOne) {
  StoreTimers({}, 5000);
  FixedClock behind(3000);
  DeadlineScheduler scheduler(*store_, EventClock(behind));
  ASSERT_TRUE(scheduler.Open().ok());
  EXPECT_FALSE(scheduler.clock().driven());
  EXPECT_EQ(scheduler.clock().now(), 5000);
  scheduler.clock().AdvanceTo(9000);  // cannot move it
  EXPECT_EQ(scheduler.clock().now(), 5000);
  scheduler.NoteLaneTime(0, 9000);
  EXPECT_FALSE(scheduler.AdvanceByLanes().has_value()) << "inputs do not move it";
  FixedClock ahead(7000);
  DeadlineScheduler later(*store_, EventClock(ahead));
  ASSERT_TRUE(later.Open().ok());
  // Committed only with a batch that stores something anyway.
  EXPECT_FALSE(later.clock().ToCommit(false).has_value());
  EXPECT_EQ(later.clock().ToCommit(true), 7000);
}

TEST_F(DeadlineSchedulerTest, TheClockNeverPassesABusyLane) {
  ManualClock manual(0);
  DeadlineScheduler scheduler(*store_, EventClock(manual));
  ASSERT_TRUE(scheduler.Open().ok());
  EXPECT_FALSE(scheduler.AdvanceByLanes().has_value()) << "no lane has read anything";

  // Lane 1 is busy at the source and has read nothing: the clock stays.
  scheduler.BeginBatch({OnLane(0), OnLane(0)}, {1});
  scheduler.NoteLaneTime(0, 1000);
  EXPECT_EQ(scheduler.AdvanceByLanes(), 0);
  EXPECT_EQ(manual.Now(), 0);
  scheduler.NoteLaneTime(1, 400);
  EXPECT_EQ(scheduler.AdvanceByLanes(), 400);
  EXPECT_EQ(manual.Now(), 400);
  scheduler.InputHandled(0);
  scheduler.InputHandled(0);
  scheduler.EndBatch();  // lane 1 stays busy
  EXPECT_EQ(scheduler.AdvanceByLanes(), 400);

  // A lane with inputs ahead in the batch is busy until its last one is handled.
  scheduler.BeginBatch({OnLane(1), OnLane(0)}, {});
  scheduler.NoteLaneTime(1, 2000);
  EXPECT_EQ(scheduler.AdvanceByLanes(), 1000) << "lane 0 still has an input ahead";
  scheduler.InputHandled(1);
  scheduler.NoteLaneTime(0, 1500);
  EXPECT_EQ(scheduler.AdvanceByLanes(), 1500);
  scheduler.InputHandled(0);
  scheduler.EndBatch();
  // No busy lane: the clock follows the latest time read on any lane.
  EXPECT_EQ(scheduler.AdvanceByLanes(), 2000);
  EXPECT_EQ(manual.Now(), 2000);
  // A lane behind the clock never moves it back; what is due is bounded by the clock.
  scheduler.BeginBatch({}, {0});
  EXPECT_EQ(scheduler.AdvanceByLanes(), 1500);
  EXPECT_EQ(manual.Now(), 2000);
}

TEST_F(DeadlineSchedulerTest, TimersAreTakenEarliestFirstAndOnce) {
  StoreTimers({{300, "L0-b", "x"}, {100, "L0-a", "y"}, {300, "L0-a", "z"}});
  ManualClock manual(0);
  DeadlineScheduler scheduler(*store_, EventClock(manual));
  ASSERT_TRUE(scheduler.Open().ok());
  EXPECT_FALSE(scheduler.TakeDue(99).has_value());
  EXPECT_EQ(scheduler.TakeDue(1000), TimerKey(100, "L0-a", "y"));
  EXPECT_EQ(scheduler.TakeDue(1000), TimerKey(300, "L0-a", "z"));
  EXPECT_FALSE(scheduler.Disarm(TimerKey(300, "L0-a", "z"))) << "taken is disarmed";
  EXPECT_TRUE(scheduler.Disarm(TimerKey(300, "L0-b", "x")));
  EXPECT_FALSE(scheduler.TakeDue(1000).has_value());
  // After a batch that was not stored, the mirror is the store's again.
  ASSERT_TRUE(scheduler.Reload().ok());
  EXPECT_EQ(scheduler.TakeDue(100), TimerKey(100, "L0-a", "y"));
}

TEST_F(DeadlineSchedulerTest, RearmRecordsWhatTheBatchWrites) {
  ManualClock manual(0);
  DeadlineScheduler scheduler(*store_, EventClock(manual));
  ASSERT_TRUE(scheduler.Open().ok());
  TimerChanges changes;
  scheduler.Rearm("C", {}, {{"a", 100}, {"b", 200}}, &changes);
  scheduler.Rearm("C", {{"a", 100}, {"b", 200}}, {{"b", 200}, {"a", 150}}, &changes);
  EXPECT_EQ(changes, (TimerChanges{{TimerKey(100, "C", "a"), false},
                                   {TimerKey(150, "C", "a"), true},
                                   {TimerKey(200, "C", "b"), true}}));
  EXPECT_EQ(scheduler.TakeDue(1000), TimerKey(150, "C", "a"));
  EXPECT_EQ(scheduler.TakeDue(1000), TimerKey(200, "C", "b"));

  runtime::CaseState s;
  s.id = "C";
  s.deadlines = {{"late", "active", 0, 500, 0},
                 {"early", "active", 0, 100, 0},
                 {"gone", "expired", 0, 50, 0},
                 {"later", "active", 0, 900, 0}};
  EXPECT_EQ(DeadlineScheduler::CaseDue(s, 500),
            (std::vector<TimerKey>{{100, "C", "early"}, {500, "C", "late"}}));
  EXPECT_EQ(DeadlineScheduler::Active(s),
            (ActiveDeadlines{{"late", 500}, {"early", 100}, {"later", 900}}));
}

TEST_F(DeadlineSchedulerTest, OnlyOwnedCasesHaveTheirTimersArmed) {
  StoreTimers({{100, "L0-a", "x"}, {100, "L1-b", "x"}, {100, "L2-c", "x"}});
  ManualClock manual(0);
  DeadlineScheduler scheduler(*store_, EventClock(manual));
  ASSERT_TRUE(scheduler.Open().ok());
  LaneSource source;
  ASSERT_TRUE(scheduler.Follow(source).ok());
  EXPECT_EQ(scheduler.CaseLane("L2-c"), 2u);
  EXPECT_EQ(scheduler.TakeDue(100), TimerKey(100, "L0-a", "x"));
  EXPECT_EQ(scheduler.TakeDue(100), TimerKey(100, "L1-b", "x"));
  EXPECT_FALSE(scheduler.TakeDue(100).has_value()) << "lane 2 is not read here";

  // The same generation: nothing is reloaded. A rebalance: the mirror follows the new lanes.
  ASSERT_TRUE(scheduler.Follow(source).ok());
  EXPECT_FALSE(scheduler.TakeDue(100).has_value());
  source.owned = {2};
  source.generation = 2;
  ASSERT_TRUE(scheduler.Follow(source).ok());
  EXPECT_EQ(scheduler.TakeDue(100), TimerKey(100, "L2-c", "x"));
  EXPECT_FALSE(scheduler.TakeDue(100).has_value());

  scheduler.Unfollow();
  EXPECT_FALSE(scheduler.CaseLane("L2-c").has_value());
  ASSERT_TRUE(scheduler.Reload().ok());  // every case is owned again
  EXPECT_TRUE(scheduler.TakeDue(100).has_value());
  EXPECT_TRUE(scheduler.TakeDue(100).has_value());
  EXPECT_TRUE(scheduler.TakeDue(100).has_value());
}

}  // namespace
}  // namespace amtsweg::core
