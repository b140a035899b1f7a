#include "engine/store/store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/store/codec.h"
#include "tests/store/store_test_util.h"
#include "tests/testing/seed.h"

namespace amtsweg::store {
namespace {

// Every dead letter of the store, in order (a failed scan fails the test).
std::vector<DeadLetter> DeadLetters(Store& store) {
  std::vector<DeadLetter> dead;
  EXPECT_TRUE(store
                  .ScanDeadLetters([&](const DeadLetter& d) {
                    dead.push_back(d);
                    return true;
                  })
                  .ok());
  return dead;
}

using testing::BatchGenerator;
using testing::Model;
using testing::Probes;
using testing::TempDir;

std::unique_ptr<Store> OpenOrDie(const std::string& path, const Options& options = {}) {
  auto store = Store::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

CaseWrite Write(std::string id, std::vector<std::string> events, std::string snapshot) {
  CaseWrite cw;
  cw.case_id = std::move(id);
  cw.events = std::move(events);
  cw.snapshot = std::move(snapshot);
  return cw;
}

std::vector<EventRecord> Events(const Store& store, std::string_view id, uint64_t from = 0,
                                uint64_t to = std::numeric_limits<uint64_t>::max()) {
  std::vector<EventRecord> out;
  Status s = store.ScanEvents(id, from, to, [&](const EventRecord& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<std::string> IndexKeys(const Store& store, std::string_view prefix) {
  std::vector<std::string> out;
  Status s = store.ScanIndex(prefix, [&](std::string_view k) {
    out.emplace_back(k);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<Timer> Due(const Store& store, Timestamp upto) {
  std::vector<Timer> out;
  Status s = store.DueTimers(upto, [&](const Timer& t) {
    out.push_back(t);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

std::vector<OutboxEntry> Outbox(const Store& store) {
  std::vector<OutboxEntry> out;
  Status s = store.ScanOutbox([&](const OutboxEntry& e) {
    out.push_back(e);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// A batch touching every kind of data.
Batch FullBatch() {
  Batch b;
  CaseWrite cw = Write("case-1", {"e1", std::string("e\0two", 5)}, "snap-1");
  cw.index_add = {"wf/antrag/eingang/case-1", "org/42/case-1"};
  b.cases.push_back(cw);
  b.timers_add = {Timer{5000, "case-1", "frist"}};
  b.outbox = {
      OutboxEntry{0, "org:42", "case-1", "case-1/1", "payload-1", {}, 0, 0},
      OutboxEntry{0, "topic:x", "case-1", "case-1/2", "", {}, 0, 0},
      OutboxEntry{0, "dlq", "", "file:x line 3", "raw", {{"reason", "bad"}, {"", ""}}, 0, 0},
      OutboxEntry{0, "audit", "case-1", "", "", {}, 1, 2}};
  b.dead = {DeadLetter{
      0, 1234, "file:x.jsonl", "line 3", "malformed: not JSON", "{oops", "malformed", {}}};
  b.seen_ids = {"input-1", "input-2"};
  b.positions = {{"file:x.jsonl", "128"}};
  return b;
}

TEST(StoreTest, RoundTripsEveryKindOfData) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Result<CommitResult> r = store->Commit(FullBatch());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->heads.size(), 1u);
  EXPECT_EQ(r->heads[0].last_seq, 2u);

  auto rec = store->GetCase("case-1");
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->snapshot, "snap-1");
  EXPECT_EQ((*rec)->last_seq, 2u);
  EXPECT_EQ((*rec)->head, r->heads[0].head);

  auto events = Events(*store, "case-1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].seq, 1u);
  EXPECT_EQ(events[0].payload, "e1");
  EXPECT_EQ(events[1].payload, std::string("e\0two", 5));

  EXPECT_EQ(IndexKeys(*store, ""),
            (std::vector<std::string>{"org/42/case-1", "wf/antrag/eingang/case-1"}));
  EXPECT_EQ(Due(*store, 10000), (std::vector<Timer>{Timer{5000, "case-1", "frist"}}));
  auto next = store->NextTimer();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(**next, (Timer{5000, "case-1", "frist"}));

  auto outbox = Outbox(*store);
  ASSERT_EQ(outbox.size(), 4u);
  EXPECT_EQ(outbox[0].seq, 1u);
  EXPECT_EQ(outbox[0].destination, "org:42");
  EXPECT_EQ(outbox[0].key, "case-1");
  EXPECT_EQ(outbox[0].id, "case-1/1");
  EXPECT_EQ(outbox[0].payload, "payload-1");
  EXPECT_FALSE(outbox[0].is_reference());
  EXPECT_EQ(outbox[1].seq, 2u);
  EXPECT_EQ(outbox[1].payload, "");
  // Headers (also empty ones) and event references survive the round trip.
  using Headers = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(outbox[2].headers, (Headers{{"reason", "bad"}, {"", ""}}));
  EXPECT_EQ(outbox[2].payload, "raw");
  EXPECT_TRUE(outbox[3].is_reference());
  EXPECT_EQ(outbox[3].event_from, 1u);
  EXPECT_EQ(outbox[3].event_to, 2u);
  EXPECT_EQ(*store->OutboxSize(), 4u);

  std::vector<DeadLetter> dead = DeadLetters(*store);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].seq, 1u);
  EXPECT_EQ(dead[0].at, 1234);
  EXPECT_EQ(dead[0].source, "file:x.jsonl");
  EXPECT_EQ(dead[0].position, "line 3");
  EXPECT_EQ(dead[0].kind, "malformed");
  EXPECT_EQ(dead[0].reason, "malformed: not JSON");
  EXPECT_EQ(dead[0].raw, "{oops");

  EXPECT_TRUE(*store->Seen("input-1"));
  EXPECT_TRUE(*store->Seen("input-2"));
  EXPECT_FALSE(*store->Seen("input-3"));
  Result<std::vector<bool>> many =
      store->Seen(std::vector<std::string>{"input-3", "input-2", "input-1"});
  ASSERT_TRUE(many.ok()) << many.status().ToString();
  EXPECT_EQ(*many, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(*store->GetPosition("file:x.jsonl"), std::optional<std::string>("128"));
  EXPECT_EQ(*store->GetPosition("file:y.jsonl"), std::nullopt);
  EXPECT_EQ(*store->GetCase("nope"), std::nullopt);
  EXPECT_TRUE(store->VerifyChain("case-1").ok());
  EXPECT_TRUE(store->VerifyChain("nope").IsNotFound());
  EXPECT_FALSE(store->StatsSummary().empty());
}

TEST(StoreTest, AccessLogAppendsInOrderFromManyThreadsAndSurvivesReopen) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    ASSERT_NE(store, nullptr);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&store, t] {
        for (int i = 0; i < 25; ++i) {
          AccessRecord r;
          r.at = 1000 + i;
          r.principal = "p" + std::to_string(t);
          r.role = "participant";
          r.organisation = "ihk-kiel";
          r.method = "GET";
          r.path = "/api/v1/cases/C-" + std::to_string(i) + "?x=\x01";
          r.status = 200;
          r.case_id = "C-" + std::to_string(i);
          EXPECT_TRUE(store->AppendAccess(r).ok());
        }
      });
    }
    for (std::thread& t : threads)
      t.join();
    // The engine's data is untouched.
    EXPECT_TRUE(Events(*store, "C-1").empty());
  }
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  std::vector<AccessRecord> all;
  ASSERT_TRUE(store
                  ->ScanAccess(0,
                               [&](const AccessRecord& r) {
                                 all.push_back(r);
                                 return true;
                               })
                  .ok());
  ASSERT_EQ(all.size(), 100u);
  for (size_t i = 0; i < all.size(); ++i)
    EXPECT_EQ(all[i].seq, i + 1);
  EXPECT_EQ(all[0].organisation, "ihk-kiel");
  EXPECT_EQ(all[0].status, 200);
  EXPECT_EQ(all[0].path.substr(0, 16), "/api/v1/cases/C-");
  Result<uint64_t> next = store->AppendAccess(all[0]);
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, 101u);
  std::vector<uint64_t> tail;
  ASSERT_TRUE(store
                  ->ScanAccess(99,
                               [&](const AccessRecord& r) {
                                 tail.push_back(r.seq);
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(tail, (std::vector<uint64_t>{99, 100, 101}));
}

TEST(StoreTest, DefinitionsAreKeptByNameAndVersion) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->PutDefinition("b", 2, "b2").ok());
    ASSERT_TRUE(store->PutDefinition("a", 10, "a10").ok());
    ASSERT_TRUE(store->PutDefinition("a", 9, "a9").ok());
    ASSERT_TRUE(store->PutDefinition("a", 9, "a9 again").ok());
    EXPECT_TRUE(store->PutDefinition("", 1, "x").IsInvalidArgument());
    ASSERT_TRUE(store->Commit(FullBatch()).ok());  // positions in meta do not mix in
  }
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  std::vector<std::string> seen;
  ASSERT_TRUE(store
                  ->ScanDefinitions([&](std::string_view name, uint64_t v, std::string_view y) {
                    seen.push_back(std::string(name) + "@" + std::to_string(v) + "=" +
                                   std::string(y));
                    return true;
                  })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"a@9=a9 again", "a@10=a10", "b@2=b2"}));
}

TEST(StoreTest, ChainHashesMatchAnIndependentRecomputation) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  std::vector<std::string> all;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::string> events;
    for (int i = 0; i < 4; ++i)
      events.push_back("event " + std::to_string(round * 4 + i));
    all.insert(all.end(), events.begin(), events.end());
    Batch b;
    b.cases.push_back(Write("c", events, "s"));
    ASSERT_TRUE(store->Commit(b).ok());
  }
  auto events = Events(*store, "c");
  ASSERT_EQ(events.size(), all.size());
  Digest h = kGenesisDigest;
  for (size_t i = 0; i < all.size(); ++i) {
    h = testing::IndependentLink(h, all[i]);
    EXPECT_EQ(events[i].seq, i + 1);
    EXPECT_EQ(events[i].hash, h) << "seq " << i + 1;
  }
  EXPECT_EQ((*store->GetCase("c"))->head, h);
}

TEST(StoreTest, SameCaseTwiceInOneBatchContinuesTheChain) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Batch first;
  first.cases.push_back(Write("c", {"a"}, "s1"));
  ASSERT_TRUE(store->Commit(first).ok());

  Batch b;
  CaseWrite w1 = Write("c", {"b", "c"}, "s2");
  w1.index_add = {"k1"};
  CaseWrite w2 = Write("c", {"d"}, "s3");
  w2.index_remove = {"k1"};
  w2.index_add = {"k2"};
  b.cases = {w1, Write("other", {"x"}, "o"), w2};
  auto r = store->Commit(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->heads.size(), 3u);
  EXPECT_EQ(r->heads[0].last_seq, 3u);
  EXPECT_EQ(r->heads[1].last_seq, 1u);
  EXPECT_EQ(r->heads[2].last_seq, 4u);

  Model model;
  model.Apply(first);
  model.Apply(b);
  EXPECT_EQ(r->heads[2].head, model.Head("c"));
  Probes probes;
  EXPECT_EQ(testing::DumpStore(*store, probes), model.Dump(probes));
  EXPECT_EQ((*store->GetCase("c"))->snapshot, "s3");
  EXPECT_EQ(IndexKeys(*store, "k"), std::vector<std::string>{"k2"});
  EXPECT_TRUE(store->VerifyChain("c").ok());
}

TEST(StoreTest, KnownHeadSkipsTheReadAndGivesTheSameChain) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Batch a;
  a.cases.push_back(Write("c", {"a", "b"}, "s"));
  auto ra = store->Commit(a);
  ASSERT_TRUE(ra.ok());
  Batch b;
  b.cases.push_back(Write("c", {"c"}, "s2"));
  b.cases[0].known_head = ChainHead{ra->heads[0].last_seq, ra->heads[0].head};
  b.cases.push_back(Write("new", {"n"}, "n"));
  b.cases[1].known_head = ChainHead{};
  auto rb = store->Commit(b);
  ASSERT_TRUE(rb.ok());
  Model model;
  model.Apply(a);
  model.Apply(b);
  EXPECT_EQ(rb->heads[0].last_seq, 3u);
  EXPECT_EQ(rb->heads[0].head, model.Head("c"));
  EXPECT_TRUE(store->VerifyChain("c").ok());
  EXPECT_TRUE(store->VerifyChain("new").ok());
}

TEST(StoreTest, ReopenPersistsEverythingIncludingCounters) {
  TempDir dir;
  const uint64_t seed = amtsweg::testing::TestSeed();
  SCOPED_TRACE("seed " + std::to_string(seed));
  BatchGenerator gen(seed);
  Model model;
  const Probes probes = BatchGenerator::PoolProbes();
  {
    auto store = OpenOrDie(dir.db());
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 30; ++i) {
      Batch b = gen.Next();
      ASSERT_TRUE(store->Commit(b).ok());
      model.Apply(b);
    }
    EXPECT_EQ(testing::DumpStore(*store, probes), model.Dump(probes));
  }
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(testing::DumpStore(*store, probes), model.Dump(probes));
  // Counters continue after reopen.
  Batch b;
  b.outbox = {OutboxEntry{0, "d", "k", "i", "p", {}, 0, 0}};
  b.dead = {DeadLetter{0, 1, "s", "p", "k: r", "raw", "k", {}}};
  ASSERT_TRUE(store->Commit(b).ok());
  model.Apply(b);
  EXPECT_EQ(testing::DumpStore(*store, probes), model.Dump(probes));
  for (const std::string& id : model.CaseIds()) {
    EXPECT_TRUE(store->VerifyChain(id).ok()) << id;
  }
}

TEST(StoreTest, ScanEventsHonoursBoundsAndEarlyStop) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Batch b;
  b.cases = {Write("a", {"1", "2", "3", "4", "5"}, ""), Write("a\x01", {"x"}, ""),
             Write("ab", {"y"}, ""), Write("\xff", {"z"}, "")};
  ASSERT_TRUE(store->Commit(b).ok());
  auto seqs = [](const std::vector<EventRecord>& es) {
    std::vector<uint64_t> out;
    for (const auto& e : es)
      out.push_back(e.seq);
    return out;
  };
  EXPECT_EQ(seqs(Events(*store, "a")), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(seqs(Events(*store, "a", 2, 4)), (std::vector<uint64_t>{2, 3, 4}));
  EXPECT_EQ(seqs(Events(*store, "a", 5, 5)), (std::vector<uint64_t>{5}));
  EXPECT_EQ(seqs(Events(*store, "a", 6, 100)), (std::vector<uint64_t>{}));
  EXPECT_EQ(seqs(Events(*store, "a", 4, 2)), (std::vector<uint64_t>{}));
  EXPECT_EQ(seqs(Events(*store, "a\x01")), (std::vector<uint64_t>{1}));
  EXPECT_EQ(seqs(Events(*store, "\xff")), (std::vector<uint64_t>{1}));
  EXPECT_EQ(Events(*store, "\xff")[0].payload, "z");
  EXPECT_TRUE(Events(*store, "b").empty());
  int n = 0;
  ASSERT_TRUE(store->ScanEvents("a", 0, 10, [&](const EventRecord&) { return ++n < 2; }).ok());
  EXPECT_EQ(n, 2);
  EXPECT_TRUE(store->ScanEvents(std::string("a\0b", 3), 0, 1, [](auto&) { return true; })
                  .IsInvalidArgument());
}

TEST(StoreTest, IndexPrefixScansAndClear) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Batch b;
  CaseWrite cw = Write("c1", {}, "");
  cw.index_add = {"wf/a/open/c1",
                  "wf/a/closed/c9",
                  "wf/b/open/c2",
                  "org/1/c1",
                  std::string("bin\xff\xff", 5),
                  std::string("bin\xff\xff\x01", 6),
                  "bio"};
  b.cases.push_back(cw);
  ASSERT_TRUE(store->Commit(b).ok());
  EXPECT_EQ(IndexKeys(*store, "wf/a/"),
            (std::vector<std::string>{"wf/a/closed/c9", "wf/a/open/c1"}));
  EXPECT_EQ(IndexKeys(*store, "wf/"),
            (std::vector<std::string>{"wf/a/closed/c9", "wf/a/open/c1", "wf/b/open/c2"}));
  EXPECT_EQ(
      IndexKeys(*store, std::string("bin\xff", 4)),
      (std::vector<std::string>{std::string("bin\xff\xff", 5), std::string("bin\xff\xff\x01", 6)}));
  EXPECT_TRUE(IndexKeys(*store, "x").empty());
  EXPECT_EQ(IndexKeys(*store, "").size(), 7u);

  Batch change;
  CaseWrite move = Write("c1", {}, "");
  move.index_remove = {"wf/a/open/c1"};
  move.index_add = {"wf/a/done/c1"};
  change.cases.push_back(move);
  ASSERT_TRUE(store->Commit(change).ok());
  EXPECT_EQ(IndexKeys(*store, "wf/a/"),
            (std::vector<std::string>{"wf/a/closed/c9", "wf/a/done/c1"}));

  ASSERT_TRUE(store->ClearIndex().ok());
  EXPECT_TRUE(IndexKeys(*store, "").empty());
}

TEST(StoreTest, TimersAreOrderedAndRemovedExactly) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Batch b;
  b.timers_add = {Timer{300, "c2", "x"}, Timer{100, "c9", "a"},  Timer{100, "c1", "b"},
                  Timer{100, "c1", "a"}, Timer{0, "c3", "zero"}, Timer{1LL << 40, "c4", "far"},
                  Timer{100, "c10", "a"}};
  ASSERT_TRUE(store->Commit(b).ok());
  EXPECT_EQ(Due(*store, 100), (std::vector<Timer>{Timer{0, "c3", "zero"}, Timer{100, "c1", "a"},
                                                  Timer{100, "c1", "b"}, Timer{100, "c10", "a"},
                                                  Timer{100, "c9", "a"}}));
  EXPECT_EQ(Due(*store, 99), (std::vector<Timer>{Timer{0, "c3", "zero"}}));
  EXPECT_TRUE(Due(*store, -1).empty());
  EXPECT_EQ(Due(*store, std::numeric_limits<Timestamp>::max()).size(), 7u);
  EXPECT_EQ(**store->NextTimer(), (Timer{0, "c3", "zero"}));

  Batch r;
  r.timers_remove = {Timer{100, "c1", "a"}, Timer{0, "c3", "zero"},
                     Timer{101, "c9", "a"} /* not stored: no effect */};
  ASSERT_TRUE(store->Commit(r).ok());
  EXPECT_EQ(Due(*store, 100), (std::vector<Timer>{Timer{100, "c1", "b"}, Timer{100, "c10", "a"},
                                                  Timer{100, "c9", "a"}}));
  EXPECT_EQ(**store->NextTimer(), (Timer{100, "c1", "b"}));

  Batch neg;
  neg.timers_add = {Timer{-1, "c1", "a"}};
  EXPECT_TRUE(store->Commit(neg).status().IsInvalidArgument());
}

TEST(StoreTest, OutboxSeqsAreAssignedAndDeleted) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 3; ++i) {
    Batch b;
    b.outbox = {OutboxEntry{99, "d", "k", "id" + std::to_string(2 * i), "p", {}, 0, 0},
                OutboxEntry{99, "d", "k", "id" + std::to_string(2 * i + 1), "p", {}, 0, 0}};
    ASSERT_TRUE(store->Commit(b).ok());
  }
  auto outbox = Outbox(*store);
  ASSERT_EQ(outbox.size(), 6u);
  for (size_t i = 0; i < outbox.size(); ++i) {
    EXPECT_EQ(outbox[i].seq, i + 1);
    EXPECT_EQ(outbox[i].id, "id" + std::to_string(i));
  }
  ASSERT_TRUE(store->DeleteOutbox({1, 2, 4, 77}).ok());
  outbox = Outbox(*store);
  ASSERT_EQ(outbox.size(), 3u);
  EXPECT_EQ(outbox[0].seq, 3u);
  EXPECT_EQ(outbox[1].seq, 5u);
  EXPECT_EQ(*store->OutboxSize(), 3u);
  ASSERT_TRUE(store->DeleteOutbox({3, 5, 6}).ok());
  EXPECT_EQ(*store->OutboxSize(), 0u);
  // Seqs are never reused, also after reopening an empty outbox.
  store.reset();
  store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Batch b;
  b.outbox = {OutboxEntry{0, "d", "k", "id", "p", {}, 0, 0}};
  ASSERT_TRUE(store->Commit(b).ok());
  EXPECT_EQ(Outbox(*store).at(0).seq, 7u);
}

TEST(StoreTest, DeadLettersSeenAndPositions) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Batch b;
  b.dead = {DeadLetter{0, -5, "s", "line 1", "k1: r1", std::string("\0raw", 4), "k1", {}},
            DeadLetter{0, 7, "s", "line 2", "r2", "", "", {}}};
  b.seen_ids = {"a", std::string("b\0", 2)};
  b.positions = {{"p1", "1"}, {"p2", "x"}, {"p1", "2"}};
  ASSERT_TRUE(store->Commit(b).ok());
  Batch c;
  c.dead = {DeadLetter{0, 9, "t", "offset 4", "k3: r3", "zz", "k3", {}}};
  c.positions = {{"p2", "y"}};
  ASSERT_TRUE(store->Commit(c).ok());

  Model model;
  model.Apply(b);
  model.Apply(c);
  Probes probes{{"a", std::string("b\0", 2), "b", "c"}, {"p1", "p2", "p3"}};
  EXPECT_EQ(testing::DumpStore(*store, probes), model.Dump(probes));
  EXPECT_EQ(*store->GetPosition("p1"), std::optional<std::string>("2"));
  EXPECT_FALSE(*store->Seen("b"));
}

// Opens the raw database of `path` and calls fn(db, handle of `family`).
void WithRawFamily(const std::string& path, std::string_view family,
                   const std::function<void(rocksdb::DB&, rocksdb::ColumnFamilyHandle*)>& fn) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &names).ok());
  for (const auto& n : names)
    cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* handle = nullptr;
  for (auto* h : handles) {
    if (h->GetName() == family) handle = h;
  }
  EXPECT_NE(handle, nullptr) << family;
  if (handle != nullptr) fn(*db, handle);
  for (auto* h : handles)
    ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
}

TEST(StoreTest, DeadLetterKindsAreStoredAndOldRecordsWithoutOneAreStillRead) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    ASSERT_NE(store, nullptr);
    Batch b;
    b.dead = {DeadLetter{0, 7, "file:a", "line 1", "malformed: not JSON", "{", "malformed", {}}};
    ASSERT_TRUE(store->Commit(b).ok());
  }
  // A record as builds before the kind field wrote it (format 1), under the next seq.
  WithRawFamily(dir.db(), codec::kDead, [](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* dead) {
    DeadLetter old{0,    9,  "file:b", "line 4", "duplicate: event id 'x' was already processed",
                   "{}", "", {}};
    std::string value = codec::DeadValueV1ForTest(old);
    ASSERT_EQ(value.front(), codec::kFormatV1);
    ASSERT_TRUE(db.Put(rocksdb::WriteOptions(), dead, codec::SeqKey(2), value).ok());
  });
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  std::vector<DeadLetter> dead = DeadLetters(*store);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].kind, "malformed");
  EXPECT_EQ(dead[0].reason, "malformed: not JSON");
  EXPECT_EQ(dead[1].seq, 2u);
  EXPECT_EQ(dead[1].at, 9);
  EXPECT_EQ(dead[1].source, "file:b");
  EXPECT_EQ(dead[1].position, "line 4");
  EXPECT_EQ(dead[1].kind, "");  // not stored; core::DeadLetterKind derives it from the reason
  EXPECT_EQ(dead[1].reason, "duplicate: event id 'x' was already processed");
  EXPECT_EQ(dead[1].raw, "{}");
  // The dead-letter counter continues after the old record.
  Batch b;
  b.dead = {DeadLetter{0, 10, "file:b", "line 5", "oversized: too big", "", "oversized", {}}};
  ASSERT_TRUE(store->Commit(b).ok());
  dead = DeadLetters(*store);
  ASSERT_EQ(dead.size(), 3u);
  EXPECT_EQ(dead[2].seq, 3u);
  EXPECT_EQ(dead[2].kind, "oversized");
}

// Dead letters keep the input's transport headers (format 3); records of format 2 (kind, no
// headers) are still read, with none.
TEST(StoreTest, DeadLetterHeadersAreStoredAndFormatTwoIsStillRead) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"ce_specversion", "1.0"}, {"CE_ID", "x"}, {"empty", ""}, {"bin", std::string("\0\xff", 2)}};
  {
    auto store = OpenOrDie(dir.db());
    ASSERT_NE(store, nullptr);
    Batch b;
    b.dead = {DeadLetter{0, 7, "kafka:in", "topic in partition 0 offset 3", "malformed: x",
                         "{\"a\":1}", "malformed", headers}};
    ASSERT_TRUE(store->Commit(b).ok());
  }
  WithRawFamily(dir.db(), codec::kDead, [](rocksdb::DB& db, rocksdb::ColumnFamilyHandle* dead) {
    DeadLetter old{
        0, 9, "file:b", "line 4", "duplicate: again", "{}", "duplicate", {{"never", "stored"}}};
    std::string value = codec::DeadValueV2ForTest(old);
    ASSERT_EQ(value.front(), codec::kDeadFormatV2);
    ASSERT_TRUE(db.Put(rocksdb::WriteOptions(), dead, codec::SeqKey(2), value).ok());
  });
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  std::vector<DeadLetter> dead = DeadLetters(*store);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].headers, headers);
  EXPECT_EQ(dead[0].raw, "{\"a\":1}");
  EXPECT_EQ(dead[0].kind, "malformed");
  EXPECT_TRUE(dead[1].headers.empty());
  EXPECT_EQ(dead[1].kind, "duplicate");
  EXPECT_EQ(dead[1].raw, "{}");
  // A damaged header count is corruption, not a crash or a wrong record.
  DeadLetter parsed;
  std::string value = codec::DeadValue(dead[0]);
  EXPECT_TRUE(codec::ParseDeadValue(value, &parsed));
  EXPECT_EQ(parsed.headers, headers);
  std::string cut = value.substr(0, value.find("CE_ID") + 2);
  EXPECT_FALSE(codec::ParseDeadValue(cut, &parsed));
}

TEST(StoreTest, ClockIsCommittedWithItsBatchAndNeverMovesBackwards) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(*store->GetClock(), std::nullopt);
    Batch only_clock;  // a batch holding only the clock is not empty: it is written
    only_clock.clock = 1000;
    EXPECT_FALSE(only_clock.empty());
    ASSERT_TRUE(store->Commit(only_clock).ok());
    EXPECT_EQ(*store->GetClock(), std::optional<Timestamp>(1000));
    Batch b;
    b.positions = {{"file:a", "3"}};
    b.clock = 5000;
    ASSERT_TRUE(store->Commit(b).ok());
    Batch same;  // the same clock again is fine
    same.positions = {{"file:a", "4"}};
    same.clock = 5000;
    ASSERT_TRUE(store->Commit(same).ok());
  }
  // Reopened, it is still there, and an earlier clock is refused with nothing of its batch.
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->GetClock(), std::optional<Timestamp>(5000));
  Batch back;
  back.positions = {{"file:a", "9"}};
  back.seen_ids = {"in-9"};
  back.clock = 4999;
  Result<CommitResult> r = store->Commit(back);
  ASSERT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
  EXPECT_NE(r.status().message().find("backwards"), std::string::npos) << r.status().ToString();
  EXPECT_EQ(*store->GetClock(), std::optional<Timestamp>(5000));
  EXPECT_EQ(*store->GetPosition("file:a"), std::optional<std::string>("4"));
  EXPECT_FALSE(*store->Seen("in-9"));
  // Without a clock a batch leaves the stored one as it is.
  Batch none;
  none.positions = {{"file:a", "10"}};
  ASSERT_TRUE(store->Commit(none).ok());
  EXPECT_EQ(*store->GetClock(), std::optional<Timestamp>(5000));
  // A failed write leaves the clock as it was (the next commit may carry the same clock again).
  int calls = 0;
  Options faulty;
  faulty.fault_before_write_for_test = [&calls] {
    return ++calls == 1 ? Status::IOError("injected") : Status::OK();
  };
  store.reset();
  store = OpenOrDie(dir.db(), faulty);
  ASSERT_NE(store, nullptr);
  Batch later;
  later.clock = 9000;
  EXPECT_FALSE(store->Commit(later).ok());
  EXPECT_EQ(*store->GetClock(), std::optional<Timestamp>(5000));
  ASSERT_TRUE(store->Commit(later).ok());
  EXPECT_EQ(*store->GetClock(), std::optional<Timestamp>(9000));
}

TEST(StoreTest, VerifyChainDetectsTamperedPayload) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Batch b;
  b.cases.push_back(Write("akte-7", {"e1", "e2", "e3", "e4"}, "s"));
  ASSERT_TRUE(store->Commit(b).ok());
  ASSERT_TRUE(store->VerifyChain("akte-7").ok());
  ASSERT_TRUE(store->OverwriteEventPayloadForTest("akte-7", 3, "forged").ok());
  EXPECT_EQ(Events(*store, "akte-7")[2].payload, "forged");
  Status s = store->VerifyChain("akte-7");
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("akte-7"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("event 3"), std::string::npos) << s.message();
  EXPECT_TRUE(store->OverwriteEventPayloadForTest("akte-7", 9, "x").IsNotFound());
}

TEST(StoreTest, VerifyChainDetectsADeletedEvent) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    ASSERT_NE(store, nullptr);
    Batch b;
    b.cases.push_back(Write("c", {"e1", "e2", "e3"}, "s"));
    b.cases.push_back(Write("d", {"e1", "e2", "e3"}, "s"));
    ASSERT_TRUE(store->Commit(b).ok());
  }
  {
    // Damage the raw database: event 2 of "c", event 3 (the last) of "d".
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    std::vector<std::string> names;
    ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.db(), &names).ok());
    for (const auto& n : names)
      cfs.emplace_back(n, rocksdb::ColumnFamilyOptions());
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.db(), cfs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    rocksdb::ColumnFamilyHandle* events = nullptr;
    for (auto* h : handles) {
      if (h->GetName() == codec::kEvents) events = h;
    }
    ASSERT_NE(events, nullptr);
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), events, codec::EventKey("c", 2)).ok());
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), events, codec::EventKey("d", 3)).ok());
    for (auto* h : handles)
      ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  }
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Status s = store->VerifyChain("c");
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("case c: event 2"), std::string::npos) << s.message();
  s = store->VerifyChain("d");
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("case d: event 3"), std::string::npos) << s.message();
}

TEST(StoreTest, VerifyChainDetectsAWrongHead) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  Batch b;
  b.cases.push_back(Write("c", {"e1", "e2"}, "s"));
  ASSERT_TRUE(store->Commit(b).ok());
  CaseRecord rec = **store->GetCase("c");
  CaseRecord bad = rec;
  bad.head[0] ^= 1;
  ASSERT_TRUE(store->PutSnapshot("c", bad).ok());
  Status s = store->VerifyChain("c");
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("case c: event 2"), std::string::npos) << s.message();

  bad = rec;
  bad.last_seq = 5;
  ASSERT_TRUE(store->PutSnapshot("c", bad).ok());
  s = store->VerifyChain("c");
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("event 3"), std::string::npos) << s.message();

  rec.snapshot = "rebuilt";
  ASSERT_TRUE(store->PutSnapshot("c", rec).ok());
  EXPECT_TRUE(store->VerifyChain("c").ok());
  EXPECT_EQ((*store->GetCase("c"))->snapshot, "rebuilt");
}

TEST(StoreTest, InvalidCaseIdsAreRejectedWithNothingStored) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  const Probes probes = BatchGenerator::PoolProbes();
  for (const std::string& bad :
       {std::string("a\0b", 3), std::string(257, 'x'), std::string(), std::string("\0", 1)}) {
    Batch b = FullBatch();
    b.cases.push_back(Write(bad, {"e"}, "s"));
    auto r = store->Commit(b);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status().ToString();
    Batch t;
    t.timers_add = {Timer{1, bad, "n"}};
    t.outbox = {OutboxEntry{0, "d", "k", "i", "p", {}, 0, 0}};
    EXPECT_TRUE(store->Commit(t).status().IsInvalidArgument());
  }
  EXPECT_EQ(testing::DumpStore(*store, probes), "");
  EXPECT_FALSE(*store->Seen("input-1"));
  EXPECT_EQ(*store->GetPosition("file:x.jsonl"), std::nullopt);
  // A 256-byte id is fine, and the counters were not advanced by the rejected batches.
  Batch ok = FullBatch();
  ok.cases.push_back(Write(std::string(256, 'x'), {"e"}, "s"));
  ASSERT_TRUE(store->Commit(ok).ok());
  EXPECT_EQ(Outbox(*store).at(0).seq, 1u);
}

TEST(StoreTest, InjectedWriteFaultStoresNothingAndTheStoreContinues) {
  TempDir dir;
  bool fail = false;
  Options options;
  options.fault_before_write_for_test = [&]() {
    return fail ? Status::IOError("injected fault") : Status::OK();
  };
  const Probes probes = BatchGenerator::PoolProbes();
  const uint64_t seed = 20240601;
  BatchGenerator gen(seed);
  Model model;
  auto store = OpenOrDie(dir.db(), options);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 5; ++i) {
    Batch b = gen.Next();
    ASSERT_TRUE(store->Commit(b).ok());
    model.Apply(b);
  }
  const std::string before = model.Dump(probes);
  ASSERT_EQ(testing::DumpStore(*store, probes), before);

  fail = true;
  Batch b = FullBatch();
  b.cases.push_back(Write("c-1", {"more"}, "x"));
  auto r = store->Commit(b);
  EXPECT_EQ(r.status().code(), Status::Code::kIOError) << r.status().ToString();
  EXPECT_NE(r.status().message().find("injected fault"), std::string::npos);
  EXPECT_EQ(store->DeleteOutbox({1}).code(), Status::Code::kIOError);
  EXPECT_EQ(testing::DumpStore(*store, probes), before);

  fail = false;
  r = store->Commit(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  model.Apply(b);  // outbox and dead seqs continue as if the failed attempt never happened
  EXPECT_EQ(testing::DumpStore(*store, probes), model.Dump(probes));
  store.reset();
  store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(testing::DumpStore(*store, probes), model.Dump(probes));
  for (const std::string& id : model.CaseIds())
    EXPECT_TRUE(store->VerifyChain(id).ok()) << id;
}

TEST(StoreTest, CrashPointNamesRoundTrip) {
  for (CrashPoint p : {CrashPoint::kBeforeBatchBuilt, CrashPoint::kAfterEventsStaged,
                       CrashPoint::kAfterOutboxStaged, CrashPoint::kBeforeWrite,
                       CrashPoint::kAfterWrite, CrashPoint::kAfterOutboxDelete}) {
    EXPECT_EQ(ParseCrashPoint(CrashPointName(p)), p);
  }
  EXPECT_EQ(ParseCrashPoint("nonsense"), std::nullopt);
}

// Not a benchmark with assertions: prints a rough figure for the record.
TEST(StoreTest, PrintsCommitThroughput) {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ASSERT_NE(store, nullptr);
  constexpr int kBatches = 50;
  constexpr int kEventsPerBatch = 1000;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kBatches; ++i) {
    Batch b;
    for (int c = 0; c < 100; ++c) {
      CaseWrite cw;
      cw.case_id = "case-" + std::to_string(c);
      for (int e = 0; e < kEventsPerBatch / 100; ++e) {
        cw.events.push_back("{\"type\":\"step\",\"n\":" + std::to_string(i * 10 + e) + "}");
      }
      cw.snapshot = std::string(200, 's');
      b.cases.push_back(std::move(cw));
    }
    ASSERT_TRUE(store->Commit(b).ok());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("Commit throughput (sync=true, %d events/batch, 100 cases/batch): %.0f events/s\n",
              kEventsPerBatch, kBatches * kEventsPerBatch / seconds);
  std::printf("%s\n", store->StatsSummary().c_str());
}

}  // namespace
}  // namespace amtsweg::store
