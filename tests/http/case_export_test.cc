#include "connectors/http/case_export.h"

#include <gtest/gtest.h>

#include "engine/dsl/loader.h"

namespace amtsweg::http {
namespace {

TEST(CaseExportTest, HtmlEscapesEverythingFromTheCase) {
  EXPECT_EQ(HtmlEscape(R"(<a href="x">Tom & 'Jerry'</a>)"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;");
  CaseFile file;
  file.case_view =
      ObjectBuilder()
          .Add("case", "<script>alert(1)</script>")
          .Add("workflow", "w&f")
          .Add("participants",
               Value::Array(
                   {ObjectBuilder().Add("role", "<b>").Add("organisation", "o\"rg").Build()}))
          .Build();
  file.events.push_back(
      ObjectBuilder()
          .Add("seq", 1)
          .Add("time", "2026-01-01T00:00:00Z")
          .Add("type", "notification.disclosed")
          .Add("data", ObjectBuilder()
                           .Add("organisation", "<img src=x onerror=alert(1)>")
                           .Add("fields", ObjectBuilder().Add("a.b", "</td><script>").Build())
                           .Add("basis", "§ 14 <GewO>")
                           .Build())
          .Build());
  file.viewer = "auditor <x>";
  std::string html = ExportHtml(file);
  EXPECT_EQ(html.find("<script>"), std::string::npos) << html;
  EXPECT_EQ(html.find("<img"), std::string::npos) << html;
  EXPECT_EQ(html.find("<b>"), std::string::npos);
  EXPECT_EQ(html.find("<x>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("a.b: &lt;/td&gt;&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("§ 14 &lt;GewO&gt;"), std::string::npos);
}

Value Event(int seq, const char* time, const char* type, Value data) {
  return ObjectBuilder()
      .Add("seq", seq)
      .Add("time", time)
      .Add("type", type)
      .Add("data", std::move(data))
      .Build();
}

// The auditor's words: German time with the UTC stamp, legal periods as the day they end with,
// the workflow's titles and the directory's names, responses and certificates as sentences.
TEST(CaseExportTest, HtmlSpeaksTheWorkflowsWordsInGermanTime) {
  dsl::LoadResult def =
      dsl::LoadDefinitionFile(std::string(AMTSWEG_SOURCE_DIR) + "/workflows/handwerksrolle.yaml");
  ASSERT_NE(def.definition, nullptr);
  auto dir = dsl::Directory::Parse(
      "organisations:\n  - {id: hwk-luebeck, kind: chamber, name: Handwerkskammer Lübeck, "
      "functions: [hwk], area: [\"01003\"]}\n",
      "d.yaml");
  ASSERT_TRUE(dir.ok()) << dir.status().ToString();
  CaseFile file;
  file.case_view =
      ObjectBuilder()
          .Add("case", "HR-1")
          .Add("workflow", "handwerksrolle")
          .Add("version", 2)
          .Add("state", "fiktiv_eingetragen")
          .Add("outcome", "deemed_approved")
          .Add("opened_at", "2026-07-12T08:30:00Z")
          .Add("closed_at", "2026-10-12T22:00:00Z")
          .Add("participants",
               Value::Array(
                   {ObjectBuilder().Add("role", "hwk").Add("organisation", "hwk-luebeck").Build()}))
          .Add("deadlines", Value::Array({ObjectBuilder()
                                              .Add("deadline", "eintragung")
                                              .Add("status", "expired")
                                              .Add("started", "2026-07-12T08:30:00Z")
                                              .Add("due", "2026-10-12T22:00:00Z")
                                              .Add("extensions", 0)
                                              .Build()}))
          .Build();
  file.events = {
      Event(1, "2026-07-12T08:30:00Z", "deadline.started",
            ObjectBuilder()
                .Add("deadline", "eintragung")
                .Add("started", "2026-07-12T08:30:00Z")
                .Add("due", "2026-10-12T22:00:00Z")
                .Add("duration", "P3M")
                .Add("calendar", "legal")
                .Build()),
      Event(2, "2026-08-01T10:00:00Z", "response.recorded",
            ObjectBuilder()
                .Add("task", "eintragung")
                .Add("role", "hwk")
                .Add("organisation", "hwk-luebeck")
                .Add("response", ObjectBuilder()
                                     .Add("task", "eintragung")
                                     .Add("decision", "approved")
                                     .Add("aktenzeichen", "HWK-7")
                                     .Build())
                .Build()),
      Event(3, "2026-10-12T22:00:00Z", "case.closed",
            ObjectBuilder()
                .Add("outcome", "deemed_approved")
                .Add("state", "fiktiv_eingetragen")
                .Build()),
      Event(4, "2026-10-20T09:00:00Z", "certificate.issued",
            ObjectBuilder()
                .Add("basis", "§42a Abs. 3 VwVfG")
                .Add("deadline", "eintragung")
                .Add("due", "2026-10-12T22:00:00Z")
                .Add("effect", "Eintragung gilt als erfolgt")
                .Add("requested_by", "hwk-luebeck")
                .Build()),
  };
  file.viewer = "auditor pruefer-1";
  file.generated_at = *ParseTimestamp("2026-12-01T12:00:00Z");
  file.workflow = def.definition.get();
  file.directory = dir->get();
  const std::string html = ExportHtml(file);
  // The end of 12 October, German time, with the stamp of the record.
  EXPECT_NE(html.find("<time datetime=\"2026-10-12T22:00:00Z\">Ablauf des 12.10.2026 (Montag)"
                      "</time> <span class=\"utc\">2026-10-12T22:00:00Z</span>"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find(">12.07.2026, 10:30 Uhr</time> <span class=\"utc\">2026-07-12T08:30:00Z"),
            std::string::npos);
  EXPECT_NE(html.find("<td>Genehmigungsfiktion (§ 42a VwVfG): Eintragung gilt als erfolgt "
                      "(Genehmigungsfiktion)</td>"),
            std::string::npos);
  EXPECT_NE(html.find("Der Fall ist abgeschlossen: Genehmigungsfiktion (§ 42a VwVfG), im Schritt "
                      "„Eintragung gilt als erfolgt (Genehmigungsfiktion)“."),
            std::string::npos);
  EXPECT_NE(html.find("Eintragungsfrist (§10 HwO i.V.m. §42a VwVfG)"), std::string::npos);
  EXPECT_NE(html.find("Handwerkskammer Lübeck (Handwerkskammer des Betriebssitzes) antwortet auf "
                      "die Anfrage „Über die Eintragung entscheiden“: „approved“. Angaben: "
                      "aktenzeichen: HWK-7."),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("Bescheinigung über den Eintritt der Genehmigungsfiktion ausgestellt, "
                      "beantragt von Handwerkskammer Lübeck. Abgelaufen ist die Frist "
                      "„Eintragungsfrist (§10 HwO i.V.m. §42a VwVfG)“."),
            std::string::npos);
  for (const char* raw : {"deemed_approved", "fiktiv_eingetragen", "{\"", ">expired<"})
    EXPECT_EQ(html.find(raw), std::string::npos) << raw;
  EXPECT_NE(html.find("@media print"), std::string::npos);

  // Without the definition and directory, the identifiers are shown, and nothing breaks.
  file.workflow = nullptr;
  file.directory = nullptr;
  const std::string bare = ExportHtml(file);
  EXPECT_NE(bare.find("hwk-luebeck (hwk) antwortet auf die Anfrage „eintragung“"),
            std::string::npos);
  EXPECT_NE(bare.find(">Ablauf des 12.10.2026 (Montag)</time>"), std::string::npos);
}

TEST(CaseExportTest, CsvQuotesAndDefusesFormulas) {
  EXPECT_EQ(CsvCell("plain"), "plain");
  EXPECT_EQ(CsvCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvCell("line\nbreak"), "\"line\nbreak\"");
  EXPECT_EQ(CsvCell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
  EXPECT_EQ(CsvCell("+1"), "'+1");
  EXPECT_EQ(CsvCell("@x"), "'@x");
  // A leading TAB or CR also starts a formula in some spreadsheets (OWASP CSV injection).
  EXPECT_EQ(CsvCell("\t=1+1"), "'\t=1+1");
  EXPECT_EQ(CsvCell("\r=1+1"), "\"'\r=1+1\"");
  CaseFile file;
  file.events.push_back(ObjectBuilder()
                            .Add("seq", 7)
                            .Add("time", "t")
                            .Add("type", "response.recorded")
                            .Add("cause", "c,1")
                            .Add("data", ObjectBuilder().Add("organisation", "=cmd").Build())
                            .Build());
  EXPECT_EQ(ExportCsv(file),
            "seq,time,type,cause,organisation,data\r\n"
            "7,t,response.recorded,\"c,1\",'=cmd,\"{\"\"organisation\"\":\"\"=cmd\"\"}\"\r\n");
}

}  // namespace
}  // namespace amtsweg::http
