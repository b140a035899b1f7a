// The status page and the HTML case file in a real browser (headless Debian Chromium), as their
// readers see them. Both are rendered from the store the shipped samples make, with the shipped
// workflows' titles and the shipped directory's names, into the build dir (status-page.html,
// case-file.html; the axe check's copies *.axe.html). Chromium's DOM of the status page must show
// the figures; then axe-core (tests/report/axe_check.cjs, npm packages pinned in
// tests/report/package-lock.json, installed once by tests/report/node-tools.sh) checks both at 1280
// and 375 px against WCAG 2.1 A and AA, checks that neither page scrolls sideways on the phone, and
// writes full-page screenshots <build dir>/{status-page,case-file}-{desktop,phone}.png.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "connectors/http/case_export.h"
#include "engine/core/case_query.h"
#include "engine/report/monitor.h"
#include "engine/report/status_page.h"
#include "tests/report/page_check.h"
#include "tests/report/sample_store.h"

namespace amtsweg::report {
namespace {

namespace fs = std::filesystem;

const std::string kBuild = AMTSWEG_BINARY_DIR;

std::string Chromium() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(candidate)) return candidate;
  return "";
}

// Runs a command and returns its standard output; standard error goes to the test's.
std::string Capture(const std::string& command, int* status) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) {
    *status = -1;
    return out;
  }
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  *status = pclose(p);
  return out;
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

// Width and height of a PNG (IHDR, big-endian at bytes 16..23); {0, 0} when it is none.
std::pair<uint32_t, uint32_t> PngSize(const std::string& path, size_t* bytes) {
  std::ifstream in(path, std::ios::binary);
  std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  *bytes = b.size();
  if (b.size() < 24 || b.substr(0, 8) != std::string("\x89PNG\r\n\x1a\n", 8)) return {0, 0};
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>(b[at + 3]));
  };
  return {be32(16), be32(20)};
}

class Browser : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    samples_ = new testing::SampleStore();
    Result<testing::Shipped> shipped = testing::LoadShipped();
    ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
    shipped_ = new testing::Shipped(std::move(shipped).value());
  }
  static void TearDownTestSuite() {
    delete shipped_;
    delete samples_;
  }

  // The status page as `run --listen` serves it: service titles and municipality names.
  static std::string StatusPage() {
    auto facts = CollectCaseFacts(samples_->store());
    EXPECT_TRUE(facts.ok());
    StatusPageOptions options;
    options.as_of = samples_->advanced_to();
    options.service_names = ServiceNames(shipped_->registry);
    options.region_names = RegionNames(*shipped_->directory);
    return RenderStatusPage(*facts, options);
  }

  // The auditor's case file of the first case that ended in a deemed approval with a
  // certificate: it has legal periods, an expiry, responses and the certificate.
  static std::string CaseFile(std::string* case_id) {
    core::CaseFilter filter;
    filter.outcome = "deemed_approved";
    Result<core::CasePage> page = core::ListCases(samples_->store(), filter);
    EXPECT_TRUE(page.ok());
    for (const runtime::CaseState& s : page->cases) {
      Result<std::vector<core::HistoryEntry>> history = core::ReadHistory(samples_->store(), s.id);
      EXPECT_TRUE(history.ok());
      bool certificate = false;
      for (const core::HistoryEntry& h : *history)
        certificate = certificate || h.event.type == runtime::DomainType::kCertificateIssued;
      if (!certificate) continue;
      Result<core::Replay> replay = core::ReplayCase(samples_->store(), s.id);
      EXPECT_TRUE(replay.ok());
      http::CaseFile file;
      file.case_view = core::FullCaseView(replay->state);
      for (const core::HistoryEntry& h : *history)
        file.events.push_back(core::FullEventView(h));
      file.viewer = "auditor pruefer-1";
      file.generated_at = samples_->advanced_to();
      file.workflow = shipped_->registry.Find(replay->state.workflow, replay->state.version);
      file.directory = shipped_->directory.get();
      EXPECT_NE(file.workflow, nullptr);
      *case_id = s.id;
      return http::ExportHtml(file);
    }
    ADD_FAILURE() << "no sample case ended in a deemed approval with a certificate";
    return "";
  }

  static testing::SampleStore* samples_;
  static testing::Shipped* shipped_;
};

testing::SampleStore* Browser::samples_ = nullptr;
testing::Shipped* Browser::shipped_ = nullptr;

TEST_F(Browser, StatusPageShowsTheFiguresInChromium) {
  const std::string chromium = Chromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium is not installed (apt-get install -y --no-install-recommends chromium; it is "
         "in AMTSWEG_DEPS of scripts/lib/deps.sh)";
  const std::string page = kBuild + "/status-page.html";
  Write(page, StatusPage());
  // Headless, without a sandbox (containers), and without any network (this machine's is
  // closed): a fresh profile, no QUIC, background networking, component updates or sync.
  const std::string profile = samples_->dir() + "/chromium-profile";
  int status = 0;
  std::string dom = Capture(chromium +
                                " --headless --no-sandbox --disable-gpu --disable-quic"
                                " --no-first-run --disable-background-networking"
                                " --disable-component-update --disable-sync --disable-extensions"
                                " --user-data-dir=" +
                                profile + " --dump-dom file://" + page + " 2>/dev/null",
                            &status);
  ASSERT_EQ(status, 0) << "chromium --dump-dom failed";
  ASSERT_NE(dom.find("<html lang=\"de\">"), std::string::npos) << dom.substr(0, 500);
  testing::ExpectPageShowsFigures(dom, samples_->store());
  EXPECT_NE(dom.find("id=\"diagramm-leistungen-eingang\""), std::string::npos);
  EXPECT_NE(dom.find("class=\"balken\""), std::string::npos);
  // Municipalities by name, services by title without notes meant for developers.
  EXPECT_NE(dom.find("<th scope=\"row\">Kiel (01002000)</th>"), std::string::npos);
  EXPECT_EQ(dom.find("sample LeiKa"), std::string::npos);
}

TEST_F(Browser, CaseFileReadsAsACaseFile) {
  std::string id;
  const std::string html = CaseFile(&id);
  ASSERT_FALSE(html.empty());
  Write(kBuild + "/case-file.html", html);
  // German time with the UTC stamp kept; legal periods as the day they end with.
  EXPECT_NE(html.find(" Uhr</time> <span class=\"utc\">20"), std::string::npos);
  EXPECT_NE(html.find(">Ablauf des "), std::string::npos);
  // The workflow's titles and German words, not identifiers or JSON.
  EXPECT_NE(html.find("Genehmigungsfiktion (§ 42a VwVfG)"), std::string::npos);
  EXPECT_NE(html.find("Bescheinigung über den Eintritt der Genehmigungsfiktion"),
            std::string::npos);
  for (const char* raw : {"deemed_approved", "fiktiv_eingetragen", "{\"", "state.entered"})
    EXPECT_EQ(html.find(raw), std::string::npos) << raw << " in the case file of " << id;
  EXPECT_NE(html.find("@media print"), std::string::npos);
}

TEST_F(Browser, BothPassAxeAtDesktopAndPhoneWidths) {
  ASSERT_FALSE(Chromium().empty()) << "chromium is not installed";
  const std::string repo = AMTSWEG_SOURCE_DIR;
  std::string id;
  // Files of their own: ctest may run the other tests of this binary at the same time.
  Write(kBuild + "/status-page.axe.html", StatusPage());
  Write(kBuild + "/case-file.axe.html", CaseFile(&id));
  int status = 0;
  std::string node_dir = Capture("bash " + repo + "/tests/report/node-tools.sh", &status);
  ASSERT_EQ(status, 0) << "tests/report/node-tools.sh could not install the npm packages";
  while (!node_dir.empty() && (node_dir.back() == '\n' || node_dir.back() == '\r'))
    node_dir.pop_back();
  const std::vector<std::string> names = {"status-page-desktop", "status-page-phone",
                                          "case-file-desktop", "case-file-phone"};
  for (const std::string& n : names)
    fs::remove(kBuild + "/" + n + ".png");
  std::string report =
      Capture("node " + repo + "/tests/report/axe_check.cjs '" + node_dir + "' '" + kBuild +
                  "' status-page='" + kBuild + "/status-page.axe.html' case-file='" + kBuild +
                  "/case-file.axe.html'",
              &status);
  std::printf("%s", report.c_str());
  EXPECT_EQ(status, 0) << "axe-core found violations (above)";
  EXPECT_NE(report.find("no violations"), std::string::npos);
  for (const std::string& n : names) {
    size_t bytes = 0;
    auto [width, height] = PngSize(kBuild + "/" + n + ".png", &bytes);
    EXPECT_EQ(width, n.ends_with("desktop") ? 1280u : 375u) << n;
    EXPECT_GT(height, 800u) << n;
    EXPECT_GT(bytes, 20000u) << n << ": the screenshot looks empty";
  }
}

}  // namespace
}  // namespace amtsweg::report
