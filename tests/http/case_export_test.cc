#include "connectors/http/case_export.h"

#include <gtest/gtest.h>

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
  EXPECT_NE(html.find("a.b = &lt;/td&gt;&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("§ 14 &lt;GewO&gt;"), std::string::npos);
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
