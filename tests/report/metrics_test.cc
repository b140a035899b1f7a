#include "engine/report/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "engine/core/case_index.h"
#include "tests/report/sample_store.h"

namespace amtsweg::report {
namespace {

using testing::SampleStore;

const SampleStore& Samples() {
  static const SampleStore* s = new SampleStore();
  return *s;
}

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // unescaped values
  double value = 0;
};

struct Family {
  std::string type;
  std::string help;
  std::vector<Sample> samples;
};

// A strict parser of the text exposition format: every sample belongs to a family announced by
// # HELP and # TYPE, names and labels are well formed, values are numbers, histograms have
// cumulative buckets ending in +Inf equal to _count. Failures are reported with the line.
std::map<std::string, Family> Parse(const std::string& text) {
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  std::map<std::string, Family> families;
  std::string current;
  std::istringstream in(text);
  std::string line;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  while (std::getline(in, line)) {
    SCOPED_TRACE(line);
    EXPECT_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      std::string rest = line.substr(7);
      std::string name = rest.substr(0, rest.find(' '));
      EXPECT_TRUE(std::regex_match(name, kName));
      EXPECT_EQ(families.count(name), 0u) << "HELP twice";
      families[name].help = rest.substr(name.size() + 1);
      EXPECT_FALSE(families[name].help.empty());
      current = name;
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::string rest = line.substr(7);
      std::string name = rest.substr(0, rest.find(' '));
      EXPECT_EQ(name, current) << "TYPE without its HELP";
      std::string type = rest.substr(name.size() + 1);
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << type;
      EXPECT_TRUE(families[name].type.empty()) << "TYPE twice";
      families[name].type = type;
      if (type == "counter") {
        EXPECT_TRUE(name.ends_with("_total")) << name;
      }
      continue;
    }
    EXPECT_NE(line[0], '#');
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ')
      ++i;
    s.name = line.substr(0, i);
    EXPECT_TRUE(std::regex_match(s.name, kName)) << s.name;
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        EXPECT_NE(eq, std::string::npos);
        if (eq == std::string::npos) return families;
        std::string label = line.substr(i, eq - i);
        EXPECT_TRUE(std::regex_match(label, kLabelName)) << label;
        EXPECT_EQ(line[eq + 1], '"');
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            ++j;
            EXPECT_TRUE(j < line.size() && (line[j] == '\\' || line[j] == '"' || line[j] == 'n'))
                << "bad escape";
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        EXPECT_LT(j, line.size()) << "unterminated label value";
        for (const auto& [seen, v] : s.labels)
          EXPECT_NE(seen, label) << "label twice";
        s.labels.emplace_back(label, value);
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      EXPECT_LT(i, line.size());
      ++i;  // '}'
    }
    EXPECT_LT(i, line.size());
    EXPECT_EQ(line[i], ' ');
    std::string number = line.substr(i + 1);
    if (number == "+Inf") {
      s.value = INFINITY;
    } else {
      char* end = nullptr;
      s.value = std::strtod(number.c_str(), &end);
      EXPECT_TRUE(!number.empty() && *end == '\0') << number;
    }
    // The family: the sample's name, or for a histogram its name without the suffix.
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (families.count(family) == 0 && s.name.ends_with(suffix)) {
        std::string base = s.name.substr(0, s.name.size() - std::string(suffix).size());
        if (families.count(base) != 0 && families[base].type == "histogram") family = base;
      }
    }
    EXPECT_EQ(family, current) << "sample outside its family's block";
    EXPECT_EQ(families.count(family), 1u) << "sample without HELP/TYPE";
    if (families[family].type == "counter" || families[family].type == "gauge") {
      EXPECT_EQ(s.name, family);
      EXPECT_GE(s.value, 0);
    }
    families[family].samples.push_back(std::move(s));
  }
  for (const auto& [name, f] : families) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(f.type.empty()) << "HELP without TYPE";
    if (f.type != "histogram") continue;
    double last_le = -INFINITY, last_count = 0, count = -1;
    bool inf = false;
    for (const Sample& s : f.samples) {
      if (s.name == name + "_bucket") {
        EXPECT_EQ(s.labels.size(), 1u);
        if (s.labels.size() != 1 || s.labels[0].first != "le") continue;
        double le = s.labels[0].second == "+Inf" ? INFINITY : std::stod(s.labels[0].second);
        EXPECT_GT(le, last_le) << "buckets not ascending";
        EXPECT_GE(s.value, last_count) << "buckets not cumulative";
        last_le = le;
        last_count = s.value;
        inf = std::isinf(le);
      } else if (s.name == name + "_count") {
        count = s.value;
      } else {
        EXPECT_EQ(s.name, name + "_sum");
      }
    }
    EXPECT_TRUE(inf) << "no +Inf bucket";
    EXPECT_EQ(count, last_count) << "+Inf bucket differs from _count";
  }
  return families;
}

// The sum of the samples named `name` that carry every label given; -1 if there is none.
double Figure(const std::map<std::string, Family>& families, const std::string& name,
              const std::vector<std::pair<std::string, std::string>>& labels = {}) {
  double sum = 0;
  bool found = false;
  for (const auto& [family, f] : families) {
    for (const Sample& s : f.samples) {
      if (s.name != name) continue;
      found = true;
      bool match = true;
      for (const auto& l : labels)
        match = match && std::find(s.labels.begin(), s.labels.end(), l) != s.labels.end();
      if (match) sum += s.value;
    }
  }
  EXPECT_TRUE(found) << "no sample " << name;
  return found ? sum : -1;
}

TEST(Metrics, SamplesRenderParseableAndMatchTheStore) {
  auto totals = ScanTotals(Samples().store());
  ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  LatencyHistogram latency;
  for (uint64_t us : {500u, 1500u, 3000u, 40000u, 2000000u, 9000000u})
    latency.Observe(us);
  MetricsInput in;
  in.totals = &*totals;
  in.stats = &Samples().stats();
  in.outbox_backlog = 3;
  in.webhook_backlog = 7;
  in.latency = &latency;
  std::string text = RenderMetrics(in);
  std::map<std::string, Family> m = Parse(text);
  ASSERT_FALSE(::testing::Test::HasFailure()) << text;

  // Independent figures: the case snapshots and the dead-letter column.
  std::map<std::string, uint64_t> opened;
  std::map<std::pair<std::string, std::string>, uint64_t> closed;
  uint64_t expired = 0, deemed = 0, open = 0;
  ASSERT_TRUE(Samples()
                  .store()
                  .ScanCases([&](std::string_view id, const store::CaseRecord&) {
                    auto s = core::LoadCaseState(Samples().store(), std::string(id), false);
                    EXPECT_TRUE(s.ok() && s->has_value());
                    const runtime::CaseState& c = **s;
                    opened[c.workflow]++;
                    if (c.outcome.empty())
                      open++;
                    else
                      closed[{c.workflow, c.outcome}]++;
                    if (c.outcome == "deemed_approved") deemed++;
                    for (const auto& d : c.deadlines)
                      expired += d.status == "expired";
                    return true;
                  })
                  .ok());
  uint64_t dead = 0;
  ASSERT_TRUE(Samples()
                  .store()
                  .ScanDeadLetters([&](const store::DeadLetter&) {
                    ++dead;
                    return true;
                  })
                  .ok());
  ASSERT_EQ(opened.size(), 4u);
  for (const auto& [workflow, n] : opened)
    EXPECT_EQ(Figure(m, "amtsweg_cases_opened_total", {{"workflow", workflow}}), n) << workflow;
  for (const auto& [key, n] : closed)
    EXPECT_EQ(
        Figure(m, "amtsweg_cases_closed_total", {{"workflow", key.first}, {"outcome", key.second}}),
        n);
  EXPECT_EQ(Figure(m, "amtsweg_cases_open"), open);
  EXPECT_GT(deemed, 0u);
  EXPECT_EQ(Figure(m, "amtsweg_deemed_approvals_total"), deemed);
  EXPECT_GT(expired, 0u);
  EXPECT_EQ(Figure(m, "amtsweg_deadlines_expired_total"), expired);
  EXPECT_GT(Figure(m, "amtsweg_deadlines_started_total"), expired);
  EXPECT_GE(Figure(m, "amtsweg_deadlines_extended_total"), 2);  // two in the samples' input
  EXPECT_GT(dead, 0u);
  EXPECT_EQ(Figure(m, "amtsweg_dead_letters_total"), dead);
  EXPECT_EQ(
      Figure(m, "amtsweg_dead_letters_total"),
      Figure(m, "amtsweg_events_rejected_total") + Figure(m, "amtsweg_events_duplicate_total"));
  EXPECT_EQ(Figure(m, "amtsweg_events_consumed_total"), Samples().stats().inputs);
  // Every input is counted once; fired timers apart, and as many expired as the cases show.
  EXPECT_EQ(Figure(m, "amtsweg_events_consumed_total"),
            Figure(m, "amtsweg_events_accepted_total") +
                Figure(m, "amtsweg_events_rejected_total") +
                Figure(m, "amtsweg_events_duplicate_total"));
  EXPECT_EQ(Figure(m, "amtsweg_timers_fired_total"), Figure(m, "amtsweg_timers_expired_total") +
                                                         Figure(m, "amtsweg_timers_stale_total") +
                                                         Figure(m, "amtsweg_timers_refused_total"));
  EXPECT_EQ(Figure(m, "amtsweg_timers_expired_total"), expired);
  EXPECT_EQ(Figure(m, "amtsweg_outbox_backlog"), 3);
  EXPECT_EQ(Figure(m, "amtsweg_webhook_backlog"), 7);
  EXPECT_EQ(Figure(m, "amtsweg_batch_processing_seconds_count"), 6);
  EXPECT_EQ(Figure(m, "amtsweg_batch_processing_seconds_bucket", {{"le", "0.001"}}), 1);
  EXPECT_EQ(Figure(m, "amtsweg_batch_processing_seconds_bucket", {{"le", "0.005"}}), 3);
  EXPECT_EQ(Figure(m, "amtsweg_batch_processing_seconds_bucket", {{"le", "5"}}), 5);
  EXPECT_NEAR(Figure(m, "amtsweg_batch_processing_seconds_sum"), 11.045, 1e-9);
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  StoreTotals t;
  t.workflows["we\"ird\\na\nme"].opened = 2;
  t.workflows["we\"ird\\na\nme"].closed["appro\"ved"] = 1;
  MetricsInput in;
  in.totals = &t;
  std::map<std::string, Family> m = Parse(RenderMetrics(in));
  EXPECT_EQ(Figure(m, "amtsweg_cases_opened_total", {{"workflow", "we\"ird\\na\nme"}}), 2);
  EXPECT_EQ(Figure(m, "amtsweg_cases_closed_total", {{"outcome", "appro\"ved"}}), 1);
  EXPECT_EQ(m.count("amtsweg_webhook_backlog"), 0u);
  EXPECT_EQ(m.count("amtsweg_events_consumed_total"), 0u);
}

TEST(Metrics, EmptyStoreParses) {
  StoreTotals t;
  LatencyHistogram h;
  MetricsInput in;
  in.totals = &t;
  in.latency = &h;
  std::map<std::string, Family> m = Parse(RenderMetrics(in));
  EXPECT_EQ(Figure(m, "amtsweg_batch_processing_seconds_count"), 0);
  EXPECT_EQ(Figure(m, "amtsweg_dead_letters_total"), 0);
}

TEST(Latency, BucketsAreCumulative) {
  LatencyHistogram h;
  h.Observe(1000);     // exactly 0.001: in the first bucket
  h.Observe(1001);     // just above
  h.Observe(6000000);  // above every bound: +Inf only
  LatencyHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.cumulative[0], 1u);
  EXPECT_EQ(s.cumulative[1], 2u);
  EXPECT_EQ(s.cumulative[LatencyHistogram::kBounds.size() - 1], 2u);
  EXPECT_EQ(s.cumulative[LatencyHistogram::kBounds.size()], 3u);
  EXPECT_EQ(s.count, 3u);
  EXPECT_NEAR(s.sum_seconds, 6.002001, 1e-9);
}

TEST(Latency, RecorderObservesTheTimeOfEachBatch) {
  LatencyHistogram h;
  BatchLatencyRecorder record(h);
  core::EngineStats stats;
  stats.process_us = 300;
  stats.commit_us = 200;
  stats.batches = 1;
  record(stats);  // 500 us
  stats.process_us = 700;
  record(stats);  // an idle poll (no batch committed): 400 us observed by nobody
  stats.process_us = 2700;
  stats.commit_us = 4200;
  stats.batches = 2;
  record(stats);  // 6000 us
  LatencyHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.count, 2u);
  EXPECT_NEAR(s.sum_seconds, 0.0065, 1e-12);
  EXPECT_EQ(s.cumulative[0], 1u);  // <= 1 ms
  EXPECT_EQ(s.cumulative[2], 1u);  // <= 5 ms
  EXPECT_EQ(s.cumulative[3], 2u);  // <= 10 ms
}

TEST(Latency, ReadsWhileObserving) {
  LatencyHistogram h;
  std::thread writer([&] {
    for (int i = 0; i < 20000; ++i)
      h.Observe(static_cast<uint64_t>(i % 7000));
  });
  for (int i = 0; i < 2000; ++i) {
    LatencyHistogram::Snapshot s = h.Read();
    ASSERT_EQ(s.cumulative.back(), s.count);  // a consistent snapshot
    for (size_t b = 1; b < s.cumulative.size(); ++b)
      ASSERT_GE(s.cumulative[b], s.cumulative[b - 1]);
  }
  writer.join();
  EXPECT_EQ(h.Read().count, 20000u);
}

}  // namespace
}  // namespace amtsweg::report
