// Checks that a status page (as rendered, or as a browser's DOM) shows the sample store's
// figures: the overview, one row per service and per municipality with the figures the tests
// compute themselves (expected.h), formatted the German way.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "tests/report/expected.h"

namespace amtsweg::report::testing {

inline std::string GermanInt(uint64_t n) {
  std::string d = std::to_string(n), out;
  for (size_t i = 0; i < d.size(); ++i) {
    if (i > 0 && (d.size() - i) % 3 == 0) out += '.';
    out += d[i];
  }
  return out;
}

inline std::map<std::string, std::string> ExpectedCells(const Expected& x) {
  std::map<std::string, std::string> cells;
  cells["eingang"] = GermanInt(x.opened);
  cells["entschieden"] = GermanInt(x.decided);
  if (std::optional<double> m = x.Median(); m.has_value()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", *m);
    std::string s = buf;
    s[s.find('.')] = ',';
    cells["median"] = s + " Tage";
  } else {
    cells["median"] = "–";
  }
  cells["fristgerecht"] = x.with_deadline == 0
                              ? "–"
                              : std::to_string(std::lround(100.0 * static_cast<double>(x.within) /
                                                           static_cast<double>(x.with_deadline))) +
                                    " %";
  cells["fiktionen"] = GermanInt(x.deemed);
  return cells;
}

// The figure cells (data-kennzahl -> text) of the table row with this id; empty if absent.
inline std::map<std::string, std::string> RowCells(const std::string& html, const std::string& id) {
  std::map<std::string, std::string> cells;
  size_t at = html.find("<tr id=\"" + id + "\"");
  if (at == std::string::npos) return cells;
  std::string row = html.substr(at, html.find("</tr>", at) - at);
  static const std::regex kCell("<td data-kennzahl=\"([a-z]+)\">([^<]*)</td>");
  for (std::sregex_iterator it(row.begin(), row.end(), kCell), end; it != end; ++it)
    cells[(*it)[1]] = (*it)[2];
  return cells;
}

// The text of the element with this id (no nested elements).
inline std::string TextOf(const std::string& html, const std::string& id) {
  std::smatch m;
  std::regex re("id=\"" + id + "\"[^>]*>([^<]*)<");
  return std::regex_search(html, m, re) ? m[1].str() : "<missing " + id + ">";
}

// `months_shown` as in StatusPageOptions: the month table has the latest that many months.
inline void ExpectPageShowsFigures(const std::string& html, const store::Store& st,
                                   size_t months_shown = 12) {
  std::map<Key, Expected> all = ExpectedFigures(st);
  ASSERT_FALSE(all.empty());
  std::map<Key, Expected> totals = Collapse(all, false, false, false);
  ASSERT_EQ(totals.size(), 1u);
  const Expected& total = totals.begin()->second;
  std::map<std::string, std::string> t = ExpectedCells(total);
  EXPECT_EQ(TextOf(html, "gesamt-eingang"), t["eingang"]);
  EXPECT_EQ(TextOf(html, "gesamt-entschieden"), t["entschieden"]);
  EXPECT_EQ(TextOf(html, "gesamt-median"), t["median"]);
  EXPECT_EQ(TextOf(html, "gesamt-fristgerecht"), t["fristgerecht"]);
  EXPECT_EQ(TextOf(html, "gesamt-fiktionen"), t["fiktionen"]);
  size_t rows = 0;
  for (const auto& [key, x] : Collapse(all, false, true, false)) {
    EXPECT_EQ(RowCells(html, "leistung-" + std::get<1>(key)), ExpectedCells(x)) << std::get<1>(key);
    ++rows;
  }
  for (const auto& [key, x] : Collapse(all, false, false, true)) {
    EXPECT_EQ(RowCells(html, "gemeinde-" + std::get<2>(key)), ExpectedCells(x)) << std::get<2>(key);
    ++rows;
  }
  std::set<std::string> months;
  for (const auto& [key, x] : all)
    months.insert(std::get<0>(key));
  std::string first = months_shown == 0 || months.size() <= months_shown
                          ? *months.begin()
                          : *std::prev(months.end(), static_cast<long>(months_shown));
  for (const auto& [key, x] : all) {
    std::string id = "monat-" + std::get<0>(key) + "-" + std::get<1>(key) + "-" + std::get<2>(key);
    if (std::get<0>(key) < first) {
      EXPECT_EQ(html.find("<tr id=\"" + id + "\""), std::string::npos) << id;
      continue;
    }
    EXPECT_EQ(RowCells(html, id), ExpectedCells(x)) << id;
    ++rows;
  }
  EXPECT_GT(rows, 10u);
}

}  // namespace amtsweg::report::testing
