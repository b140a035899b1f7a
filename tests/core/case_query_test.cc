#include "engine/core/case_query.h"

#include <gtest/gtest.h>

namespace amtsweg::core {
namespace {

store::DeadLetter Letter(std::string reason, std::string kind) {
  store::DeadLetter d;
  d.seq = 3;
  d.at = 1767225600000;  // 2026-01-01T00:00:00Z
  d.source = "file:in.jsonl";
  d.position = "line 7";
  d.reason = std::move(reason);
  d.raw = "{oops";
  d.kind = std::move(kind);
  return d;
}

TEST(DeadLetterView, HasTheKindAsAFieldOfItsOwn) {
  Value v = DeadLetterView(Letter("malformed: not JSON: a: b", "malformed"));
  EXPECT_EQ(v.ToJson(),
            R"({"seq":3,"at":"2026-01-01T00:00:00Z","source":"file:in.jsonl","position":"line 7",)"
            R"("kind":"malformed","reason":"malformed: not JSON: a: b","raw":"{oops"})");
}

TEST(DeadLetterView, DerivesTheKindOfARecordStoredWithoutOne) {
  // Records written before kinds had a field (store format 1) have only the prefixed reason.
  store::DeadLetter old = Letter("not-a-participant: sender 'x' is not bound to role 'amt'", "");
  EXPECT_EQ(DeadLetterKind(old), "not-a-participant");
  EXPECT_EQ(DeadLetterView(old)["kind"].as_string(), "not-a-participant");
  EXPECT_EQ(DeadLetterView(old)["reason"].as_string(), old.reason);
  // The stored field wins; a reason without a colon is all kind.
  EXPECT_EQ(DeadLetterKind(Letter("duplicate: x", "other")), "other");
  EXPECT_EQ(DeadLetterKind(Letter("oversized", "")), "oversized");
}

}  // namespace
}  // namespace amtsweg::core
