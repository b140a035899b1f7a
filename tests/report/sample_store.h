// Test fixture: a store filled by running the engine over the shipped samples
// (workflows/samples/*.jsonl in name order, then the clock moved to the end of the year after the
// last sample event, as scripts/demo does), and helpers that read the sample files themselves.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "connectors/file/file_source.h"
#include "engine/common/clock.h"
#include "engine/core/engine.h"
#include "engine/store/store.h"
#include "tests/testing/memory_sink.h"
#include "tests/testing/shipped.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::report::testing {

inline const std::string kRepo = AMTSWEG_SOURCE_DIR;

inline std::vector<std::string> SampleFiles() {
  std::vector<std::string> files;
  for (const auto& f : std::filesystem::directory_iterator(kRepo + "/workflows/samples"))
    if (f.path().extension() == ".jsonl") files.push_back(f.path().string());
  std::sort(files.begin(), files.end());
  return files;
}

// Every line of the sample files that parses as a JSON object.
inline std::vector<Value> SampleEvents() {
  std::vector<Value> out;
  for (const std::string& file : SampleFiles()) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      Result<Value> v = Value::ParseJson(line);
      if (v.ok() && v->is_object()) out.push_back(*v);
    }
  }
  return out;
}

using ::amtsweg::testing::LoadShipped;
using ::amtsweg::testing::MemorySink;
using ::amtsweg::testing::Shipped;
using ::amtsweg::testing::TempDir;

// The store after the samples; the temporary directory is removed with it.
class SampleStore {
 public:
  SampleStore() {
    spdlog::set_level(spdlog::level::warn);  // the bad samples' dead letters are expected
    Result<Shipped> shipped = LoadShipped();
    EXPECT_TRUE(shipped.ok()) << shipped.status().ToString();
    auto st = store::Store::Open(tmp_.path() + "/data");
    EXPECT_TRUE(st.ok()) << st.status().ToString();
    store_ = std::move(st).value();
    ManualClock clock(0);
    core::Engine engine(*store_, shipped->registry, *shipped->directory, clock);
    EXPECT_TRUE(engine.Open().ok());
    MemorySink sink;
    Timestamp last = 0;
    for (const Value& e : SampleEvents()) {
      const Value* t = e.Find("time");
      if (t == nullptr || !t->is_string()) continue;
      Result<Timestamp> ts = ParseTimestamp(t->as_string());
      if (ts.ok()) last = std::max(last, *ts);
    }
    for (const std::string& file : SampleFiles()) {
      auto src = connectors::FileSource::Open(file, 256 * 1024);
      EXPECT_TRUE(src.ok()) << src.status().ToString();
      Status s = engine.Drain(**src, &sink, 100);
      EXPECT_TRUE(s.ok()) << s.ToString();
    }
    int64_t y = 0;
    unsigned m = 0, d = 0;
    CivilFromDays(last / 86400000, &y, &m, &d);
    advanced_to_ = *ParseTimestamp(std::to_string(y + 1) + "-12-31T00:00:00Z");
    Status s = engine.AdvanceClock(advanced_to_);
    EXPECT_TRUE(s.ok()) << s.ToString();
    s = engine.FlushOutbox(sink, nullptr, std::chrono::seconds(10));
    EXPECT_TRUE(s.ok()) << s.ToString();
    stats_ = engine.stats();
  }
  ~SampleStore() { store_.reset(); }  // before the directory goes
  SampleStore(const SampleStore&) = delete;
  SampleStore& operator=(const SampleStore&) = delete;

  const store::Store& store() const { return *store_; }
  const core::EngineStats& stats() const { return stats_; }
  Timestamp advanced_to() const { return advanced_to_; }
  const std::string& dir() const { return tmp_.path(); }

 private:
  TempDir tmp_{"amtsweg-report"};
  std::unique_ptr<store::Store> store_;
  core::EngineStats stats_;
  Timestamp advanced_to_ = 0;
};

}  // namespace amtsweg::report::testing
