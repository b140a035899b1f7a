#include "engine/report/status_page.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>

#include "tests/report/page_check.h"
#include "tests/report/sample_store.h"

namespace amtsweg::report {
namespace {

using testing::SampleEvents;
using testing::SampleStore;

const SampleStore& Samples() {
  static const SampleStore* s = new SampleStore();
  return *s;
}

std::string SamplePage(const StatusPageOptions& options = {}) {
  auto facts = CollectCaseFacts(Samples().store());
  EXPECT_TRUE(facts.ok());
  StatusPageOptions o = options;
  if (o.as_of == 0) o.as_of = *ParseTimestamp("2027-12-31T09:30:00Z");
  return RenderStatusPage(*facts, o);
}

// Personal data of the samples: every string under a key that names a person or an address,
// and every string that looks like an e-mail address or a date of birth.
void CollectPersonal(const Value& v, std::string_view key, std::set<std::string>* out) {
  static const std::set<std::string, std::less<>> kKeys = {"name",
                                                           "vorname",
                                                           "anschrift",
                                                           "email",
                                                           "e_mail",
                                                           "telefon",
                                                           "strasse",
                                                           "geburtsdatum",
                                                           "geburtsort",
                                                           "betriebsleiter",
                                                           "staatsangehoerigkeit"};
  if (v.is_string()) {
    const std::string& s = v.as_string();
    if (kKeys.count(key) != 0 || s.find('@') != std::string::npos) out->insert(s);
  } else if (v.is_object()) {
    for (const auto& [k, m] : v.members())
      CollectPersonal(m, k, out);
  } else if (v.is_array()) {
    for (const Value& item : v.items())
      CollectPersonal(item, key, out);
  }
}

// Whether `text` contains `word` not inside a longer word: the first name "Jan" is not found in
// "Januar" (bytes of non-ASCII characters count as letters).
bool ContainsWord(const std::string& text, const std::string& word) {
  auto letter = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           static_cast<unsigned char>(c) >= 0x80;
  };
  for (size_t at = 0; (at = text.find(word, at)) != std::string::npos; ++at) {
    bool before = at > 0 && letter(text[at - 1]) && letter(word.front());
    bool after =
        at + word.size() < text.size() && letter(text[at + word.size()]) && letter(word.back());
    if (!before && !after) return true;
  }
  return false;
}

TEST(StatusPage, ShowsTheFiguresOfTheSamples) {
  testing::ExpectPageShowsFigures(SamplePage(), Samples().store());
}

TEST(StatusPage, MonthTableShowsTheLatestMonths) {
  for (size_t months : {0u, 1u, 3u}) {
    StatusPageOptions o;
    o.months_shown = months;
    testing::ExpectPageShowsFigures(SamplePage(o), Samples().store(), months);
  }
}

TEST(StatusPage, HasNoPersonalData) {
  std::set<std::string> personal;
  for (const Value& e : SampleEvents()) {
    const Value* data = e.Find("data");
    if (data != nullptr) CollectPersonal(*data, "", &personal);
  }
  ASSERT_GT(personal.size(), 20u);
  ASSERT_TRUE(ContainsWord("Frau Jan Meyer", "Jan"));
  ASSERT_FALSE(ContainsWord("Januar", "Jan"));  // names, addresses, e-mails of applicants and firms
  StatusPageOptions with_titles;
  with_titles.service_names["99050012104000"] = "Gewerbeanmeldung (§14 GewO)";
  for (const std::string& page : {SamplePage(), SamplePage(with_titles)}) {
    for (const std::string& p : personal)
      EXPECT_FALSE(ContainsWord(page, p)) << "personal data on the page: " << p;
  }
}

TEST(StatusPage, IsSelfContainedAndAccessible) {
  std::string page = SamplePage();
  EXPECT_EQ(page.rfind("<!DOCTYPE html>\n<html lang=\"de\">", 0), 0u);
  for (const char* external : {"<script", "<link", "<img", "<iframe", "src=", "href=", "url(",
                               "@import", "http://", "https://"})
    EXPECT_EQ(page.find(external), std::string::npos) << external;
  EXPECT_NE(page.find("<meta charset=\"utf-8\">"), std::string::npos);
  EXPECT_NE(page.find("<style>"), std::string::npos);
  // Each chart is one image to assistive technology, named, and has its table beside it.
  size_t charts = 0;
  for (size_t at = 0; (at = page.find("class=\"balkendiagramm\"", at)) != std::string::npos;
       ++at, ++charts) {
    std::string tag = page.substr(at, page.find('>', at) - at);
    EXPECT_NE(tag.find("role=\"img\""), std::string::npos);
    // Named by its title and description: "Eingegangene Anträge je ... . Balkendiagramm: ..."
    EXPECT_NE(tag.find(". Balkendiagramm: "), std::string::npos) << tag;
    EXPECT_NE(tag.find("aria-label=\""), std::string::npos) << tag;
  }
  EXPECT_EQ(charts, 3u);
  EXPECT_GE(page.find("<svg "), page.find("class=\"balkendiagramm\""));
  EXPECT_EQ(std::count(page.begin(), page.end(), '\0'), 0);
  auto count = [&](std::string_view s) {
    size_t n = 0;
    for (size_t at = 0; (at = page.find(s, at)) != std::string::npos; at += s.size())
      ++n;
    return n;
  };
  EXPECT_EQ(count("<figcaption>"), 3u);
  EXPECT_EQ(count("<caption id=\"tabelle-"), 3u);
  // Each table scrolls in its own focusable, named region on a narrow screen.
  EXPECT_EQ(count("<div class=\"tabelle\" role=\"region\" tabindex=\"0\" aria-labelledby="), 3u);
  EXPECT_EQ(count("<table "), 3u);
  EXPECT_GE(count("<th scope=\"col\">"), 15u);
  EXPECT_EQ(count("<h1>"), 1u);
}

TEST(StatusPage, EscapesEveryString) {
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  CaseFacts f;
  f.workflow = "<script>alert(1)</script>";
  f.leika = "99\"><b>x</b>";
  f.region = "<i>01002000</i>";
  f.opened_at = *ParseTimestamp("2026-05-04T10:00:00Z");
  StatusPageOptions o;
  o.title = "Titel & <Untertitel>";
  o.region_names["<i>01002000</i>"] = "Kiel <b>";
  std::string page = RenderStatusPage({f}, o);
  for (const char* raw : {"<script>", "<b>", "<i>", "\"><b>", "Titel & <"})
    EXPECT_EQ(page.find(raw), std::string::npos) << raw;
  EXPECT_NE(page.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(page.find("Titel &amp; &lt;Untertitel&gt;"), std::string::npos);
}

TEST(StatusPage, NamesMunicipalitiesAndShowsWholeLabels) {
  StatusPageOptions o;
  o.region_names["01002000"] = "Kiel";
  o.service_names["99050012104000"] = "Gewerbeanmeldung (§14 GewO)";
  std::string page = SamplePage(o);
  // Table 2 names the municipality with its key, the chart and table 3 by name.
  EXPECT_NE(page.find("<tr id=\"gemeinde-01002000\"><th scope=\"row\">Kiel (01002000)</th>"),
            std::string::npos);
  EXPECT_NE(page.find("<span class=\"beschriftung\">Kiel</span>"), std::string::npos);
  EXPECT_NE(page.find("-01002000\"><th scope=\"row\">"), std::string::npos);
  EXPECT_NE(page.find("</td><td>Kiel</td><td data-kennzahl="), std::string::npos);
  // A key without a name is shown as the key.
  EXPECT_NE(page.find("<span class=\"beschriftung\">01003000</span>"), std::string::npos);
  // Chart labels are text that wraps, never cut to fit a fixed width.
  EXPECT_NE(page.find("<span class=\"beschriftung\">Gewerbeanmeldung (§14 GewO)</span>"),
            std::string::npos);
}

TEST(StatusPage, EmptyStore) {
  StatusPageOptions o;
  o.as_of = *ParseTimestamp("2026-07-01T10:00:00Z");
  std::string page = RenderStatusPage({}, o);
  EXPECT_NE(page.find("Keine Daten"), std::string::npos);
  EXPECT_NE(page.find("01.07.2026, 12:00 Uhr"), std::string::npos);  // CEST
  EXPECT_EQ(testing::TextOf(page, "gesamt-eingang"), "0");
  EXPECT_EQ(testing::TextOf(page, "gesamt-median"), "–");
}

}  // namespace
}  // namespace amtsweg::report
