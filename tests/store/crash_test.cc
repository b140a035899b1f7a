// Crash tests: a forked child commits and dies with _exit(42) at a named CrashPoint (or at a
// random one); the parent reopens the store and checks that every batch is all or nothing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "engine/store/store.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/seed.h"

namespace amtsweg::store {

// Readable parameter names in GoogleTest output.
void PrintTo(CrashPoint p, std::ostream* os) {
  *os << CrashPointName(p);
}

namespace {

using testing::BatchGenerator;
using testing::Model;
using testing::Probes;
using testing::TempDir;

constexpr int kCrashExit = 42;

// Runs `body` in a forked child, which must end with _exit; returns the child's exit code, or
// -signal when it was killed. The child never returns into GoogleTest.
int RunInChild(const std::function<void()>& body) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1000;
  if (pid == 0) {
    alarm(60);  // a hung child fails the test instead of hanging it
    body();
    _exit(0);  // no crash happened
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1001;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1002;
}

// In the child: exits with `code` unless `s` is OK.
void ChildCheck(const Status& s, int code) {
  if (!s.ok()) {
    std::fprintf(stderr, "child: %s\n", s.ToString().c_str());
    _exit(code);
  }
}

Batch BatchA() {
  Batch b;
  CaseWrite c1;
  c1.case_id = "case-a";
  c1.events = {"a1", "a2"};
  c1.snapshot = "state-a";
  c1.index_add = {"wf/open/case-a"};
  CaseWrite c2;
  c2.case_id = "case-b";
  c2.events = {"b1"};
  c2.snapshot = "state-b";
  c2.index_add = {"wf/open/case-b"};
  b.cases = {c1, c2};
  b.timers_add = {Timer{1000, "case-a", "frist"}, Timer{2000, "case-b", "frist"}};
  b.outbox = {OutboxEntry{0, "org:1", "case-a", "case-a/1", "pa", {}, 0, 0},
              OutboxEntry{0, "org:2", "case-b", "case-b/1", "pb", {}, 0, 0}};
  b.dead = {DeadLetter{0, 10, "file:in", "line 2", "malformed: bad", "{", "malformed", {}}};
  b.seen_ids = {"in-1", "in-2"};
  b.positions = {{"file:in", "2"}};
  b.clock = 1500;  // the engine clock goes with everything else
  return b;
}

// Continues case-a, starts case-c, moves index entries, replaces a timer, and so on.
Batch BatchB() {
  Batch b;
  CaseWrite c1;
  c1.case_id = "case-a";
  c1.events = {"a3"};
  c1.snapshot = "state-a2";
  c1.index_remove = {"wf/open/case-a"};
  c1.index_add = {"wf/done/case-a"};
  CaseWrite c3;
  c3.case_id = "case-c";
  c3.events = {"c1", "c2", "c3"};
  c3.snapshot = "state-c";
  c3.index_add = {"wf/open/case-c"};
  CaseWrite c1again;
  c1again.case_id = "case-a";
  c1again.events = {"a4"};
  c1again.snapshot = "state-a3";
  b.cases = {c1, c3, c1again};
  b.timers_remove = {Timer{1000, "case-a", "frist"}};
  b.timers_add = {Timer{3000, "case-c", "frist"}};
  b.outbox = {OutboxEntry{0, "org:1", "case-a", "case-a/3", "pa3", {}, 0, 0},
              OutboxEntry{0, "org:3", "case-c", "case-c/1", "pc", {}, 0, 0},
              OutboxEntry{0, "org:3", "case-c", "case-c/3", "pc3", {}, 0, 0}};
  b.dead = {DeadLetter{0, 20, "file:in", "line 5", "malformed: worse", "}", "malformed", {}}};
  b.seen_ids = {"in-3", "in-4", "in-5"};
  b.positions = {{"file:in", "5"}, {"file:other", "1"}};
  b.clock = 2500;
  return b;
}

Batch BatchC() {
  Batch b;
  CaseWrite c;
  c.case_id = "case-b";
  c.events = {"b2"};
  c.snapshot = "state-b2";
  b.cases = {c};
  b.outbox = {OutboxEntry{0, "org:2", "case-b", "case-b/2", "pb2", {}, 0, 0}};
  b.dead = {DeadLetter{0, 30, "file:in", "line 9", "malformed: again", "x", "malformed", {}}};
  b.positions = {{"file:in", "9"}};
  return b;
}

Probes FixedProbes() {
  return Probes{{"in-1", "in-2", "in-3", "in-4", "in-5", "in-6"}, {"file:in", "file:other"}};
}

class CrashAtPointTest : public ::testing::TestWithParam<CrashPoint> {};

TEST_P(CrashAtPointTest, BatchIsAllOrNothing) {
  const CrashPoint point = GetParam();
  TempDir dir;
  const std::string path = dir.db();
  const std::vector<uint64_t> delivered = {1, 2};  // batch A's outbox entries

  int code = RunInChild([&] {
    auto opened = Store::Open(path);
    ChildCheck(opened.status(), 10);
    std::unique_ptr<Store> store = std::move(opened).value();
    ChildCheck(store->Commit(BatchA()).status(), 11);
    if (point == CrashPoint::kAfterOutboxDelete) {
      ChildCheck(store->Commit(BatchB()).status(), 12);
    }
    store->SetCrashHook([point](CrashPoint p) {
      if (p == point) _exit(kCrashExit);
    });
    if (point == CrashPoint::kAfterOutboxDelete) {
      ChildCheck(store->DeleteOutbox(delivered), 13);
    } else {
      ChildCheck(store->Commit(BatchB()).status(), 14);
    }
  });
  ASSERT_EQ(code, kCrashExit) << "child did not crash at " << CrashPointName(point);

  Model model;
  model.Apply(BatchA());
  if (point == CrashPoint::kAfterWrite || point == CrashPoint::kAfterOutboxDelete) {
    model.Apply(BatchB());
  }
  if (point == CrashPoint::kAfterOutboxDelete) model.DeleteOutbox(delivered);

  auto store = Store::Open(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const Probes probes = FixedProbes();
  EXPECT_EQ(testing::DumpStore(**store, probes), model.Dump(probes));
  for (const std::string& id : model.CaseIds()) {
    EXPECT_TRUE((*store)->VerifyChain(id).ok()) << id;
  }

  // Counters (outbox, dead letters, case seqs) continue where the committed prefix ended.
  ASSERT_TRUE((*store)->Commit(BatchC()).ok());
  model.Apply(BatchC());
  EXPECT_EQ(testing::DumpStore(**store, probes), model.Dump(probes));
  for (const std::string& id : model.CaseIds()) {
    EXPECT_TRUE((*store)->VerifyChain(id).ok()) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(EveryPoint, CrashAtPointTest,
                         ::testing::Values(CrashPoint::kBeforeBatchBuilt,
                                           CrashPoint::kAfterEventsStaged,
                                           CrashPoint::kAfterOutboxStaged, CrashPoint::kBeforeWrite,
                                           CrashPoint::kAfterWrite, CrashPoint::kAfterOutboxDelete),
                         [](const ::testing::TestParamInfo<CrashPoint>& param_info) {
                           std::string name;
                           for (char c : CrashPointName(param_info.param)) {
                             if (c != '_') name.push_back(c);
                           }
                           return name;
                         });

// Commits a seeded random sequence of batches in a child that dies at a random hook call, then
// compares the reopened store with a model of the batches that reached kAfterWrite.
TEST(CrashTest, RandomCrashesLeaveACommittedPrefix) {
  const uint64_t base_seed = amtsweg::testing::TestSeed();
  constexpr int kHooksPerCommit = 5;  // kBeforeBatchBuilt .. kAfterWrite
  for (int round = 0; round < 20; ++round) {
    const uint64_t seed = base_seed + static_cast<uint64_t>(round);
    SCOPED_TRACE("seed " + std::to_string(seed));
    BatchGenerator plan(seed);
    const int n_batches = plan.Pick(3, 12);
    const int crash_at = plan.Pick(1, n_batches * kHooksPerCommit);  // 1-based hook call
    std::vector<Batch> batches;
    for (int i = 0; i < n_batches; ++i)
      batches.push_back(plan.Next());

    TempDir dir;
    const std::string path = dir.db();
    int code = RunInChild([&] {
      auto opened = Store::Open(path);
      ChildCheck(opened.status(), 10);
      std::unique_ptr<Store> store = std::move(opened).value();
      int calls = 0;
      store->SetCrashHook([&](CrashPoint) {
        if (++calls == crash_at) _exit(kCrashExit);
      });
      for (const Batch& b : batches)
        ChildCheck(store->Commit(b).status(), 11);
    });
    ASSERT_EQ(code, kCrashExit);

    const int committed = crash_at / kHooksPerCommit;  // batch i's kAfterWrite is call 5i+5
    Model model;
    for (int i = 0; i < committed; ++i)
      model.Apply(batches[static_cast<size_t>(i)]);
    auto store = Store::Open(path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    const Probes probes = BatchGenerator::PoolProbes();
    ASSERT_EQ(testing::DumpStore(**store, probes), model.Dump(probes))
        << "crash at hook call " << crash_at << " of " << n_batches << " batches";
    // The store continues: one more batch lands on top of the prefix.
    Batch more = plan.Next();
    ASSERT_TRUE((*store)->Commit(more).ok());
    model.Apply(more);
    ASSERT_EQ(testing::DumpStore(**store, probes), model.Dump(probes));
    for (const std::string& id : model.CaseIds()) {
      ASSERT_TRUE((*store)->VerifyChain(id).ok()) << id;
    }
  }
}

}  // namespace
}  // namespace amtsweg::store
