// Expected figures of the sample store, computed by the tests' own rules from the sample input
// files (opening time, region key) and the case snapshots (outcome, closing time, deadlines),
// not through the report's fold of the event log.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "engine/calendar/german_time.h"
#include "engine/core/case_index.h"
#include "tests/report/sample_store.h"

namespace amtsweg::report::testing {

// The test's own month rule: the civil date in Berlin.
inline std::string Month(Timestamp t) {
  const calendar::CivilDate d = calendar::GermanDate(t);
  return std::to_string(d.year()) + "-" + (d.month() < 10 ? "0" : "") + std::to_string(d.month());
}

// The test's own region rule: where the shipped workflows keep the AGS.
inline std::string Region(const Value& data) {
  for (const char* path : {"betrieb.ags", "grundstueck.ags", "standort.ags"}) {
    const Value* v = data.FindPath(path);
    if (v == nullptr || !v->is_string()) continue;
    const std::string& key = v->as_string();
    // An ARS (12 digits) names the municipality by digits 1-5 and 10-12.
    return key.size() == 12 ? key.substr(0, 5) + key.substr(9, 3) : key;
  }
  return "";
}

inline bool Decided(const std::string& outcome) {
  return outcome == "approved" || outcome == "rejected" || outcome == "notified" ||
         outcome == "deemed_approved";
}

struct Expected {
  uint64_t opened = 0, decided = 0, with_deadline = 0, within = 0, deemed = 0;
  std::vector<double> lead;
  std::optional<double> Median() const {
    if (lead.empty()) return std::nullopt;
    std::vector<double> v = lead;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  }
};
using Key = std::tuple<std::string, std::string, std::string>;  // month, leika, region

// Expected figures, from the sample input files (opening time, region) and the case snapshots
// (outcome, closing time, deadlines): not through the report's fold of the event log.
inline std::map<Key, Expected> ExpectedFigures(const store::Store& st) {
  std::map<std::string, Value> submissions;  // case id -> first submission
  for (const Value& e : SampleEvents()) {
    const Value* type = e.Find("type");
    const Value* subject = e.Find("subject");
    if (type == nullptr || !type->is_string() || subject == nullptr || !subject->is_string())
      continue;
    if (type->as_string() != "de.amtsweg.application.submitted") continue;
    submissions.emplace(subject->as_string(), e);
  }
  std::vector<std::string> ids;
  EXPECT_TRUE(st.ScanCases([&](std::string_view id, const store::CaseRecord&) {
                  ids.emplace_back(id);
                  return true;
                }).ok());
  std::map<Key, Expected> out;
  for (const std::string& id : ids) {
    auto s = core::LoadCaseState(st, id, false);
    EXPECT_TRUE(s.ok() && s->has_value()) << id;
    const runtime::CaseState& c = **s;
    auto sub = submissions.find(id);
    EXPECT_NE(sub, submissions.end()) << "case " << id << " has no submission in the samples";
    if (sub == submissions.end()) continue;
    Timestamp submitted = *ParseTimestamp(sub->second["time"].as_string());
    EXPECT_EQ(c.opened_at, submitted) << id;
    std::string region = Region(sub->second["data"]);
    EXPECT_EQ(region.size(), 8u) << id;
    out[{Month(submitted), c.leika, region}].opened++;
    if (!Decided(c.outcome)) continue;
    Expected& x = out[{Month(c.closed_at), c.leika, region}];
    x.decided++;
    x.lead.push_back(static_cast<double>(c.closed_at - c.opened_at) / 86400000.0);
    bool expired = false;
    for (const runtime::DeadlineState& d : c.deadlines)
      expired = expired || d.status == "expired";
    if (!c.deadlines.empty()) x.with_deadline++;
    if (!c.deadlines.empty() && !expired) x.within++;
    if (c.outcome == "deemed_approved") x.deemed++;
  }
  return out;
}

// Merges groups, keeping only the dimensions asked for (the others become "").
inline std::map<Key, Expected> Collapse(const std::map<Key, Expected>& in, bool month, bool leika,
                                        bool region) {
  std::map<Key, Expected> out;
  for (const auto& [key, x] : in) {
    Expected& y = out[{month ? std::get<0>(key) : "", leika ? std::get<1>(key) : "",
                       region ? std::get<2>(key) : ""}];
    y.opened += x.opened;
    y.decided += x.decided;
    y.with_deadline += x.with_deadline;
    y.within += x.within;
    y.deemed += x.deemed;
    y.lead.insert(y.lead.end(), x.lead.begin(), x.lead.end());
  }
  return out;
}

}  // namespace amtsweg::report::testing
