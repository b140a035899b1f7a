// The status page in a real browser: Chromium (headless) loads the page rendered for the shipped
// samples from a file, its DOM must show the figures, and a screenshot is written to
// <build dir>/status-page.png. One Chromium start for the DOM, one for the screenshot.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/report/status_page.h"
#include "tests/report/page_check.h"
#include "tests/report/sample_store.h"

namespace amtsweg::report {
namespace {

namespace fs = std::filesystem;

std::string Chromium() {
  for (const char* candidate : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(candidate)) return candidate;
  return "";
}

// Runs a command and returns its standard output (standard error is discarded).
std::string Capture(const std::string& command, int* status) {
  std::string out;
  FILE* p = popen((command + " 2>/dev/null").c_str(), "r");
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

TEST(Browser, StatusPageShowsTheFiguresAndRenders) {
  const std::string chromium = Chromium();
  ASSERT_FALSE(chromium.empty())
      << "chromium is not installed (apt-get install -y --no-install-recommends chromium; it is "
         "in AMTSWEG_DEPS of scripts/lib/deps.sh)";
  testing::SampleStore samples;
  auto facts = CollectCaseFacts(samples.store());
  ASSERT_TRUE(facts.ok());
  StatusPageOptions options;
  options.as_of = samples.advanced_to();
  const std::string dir = AMTSWEG_BINARY_DIR;
  const std::string page = dir + "/status-page.html";
  const std::string png = dir + "/status-page.png";
  {
    std::ofstream out(page, std::ios::binary | std::ios::trunc);
    out << RenderStatusPage(*facts, options);
    ASSERT_TRUE(out.good());
  }
  fs::remove(png);
  const std::string profile = samples.dir() + "/chromium-profile";
  const std::string common = chromium +
                             " --headless --no-sandbox --disable-gpu --no-first-run"
                             " --disable-extensions --user-data-dir=" +
                             profile + " ";

  int status = 0;
  std::string dom = Capture(common + "--dump-dom file://" + page, &status);
  ASSERT_EQ(status, 0) << "chromium --dump-dom failed";
  ASSERT_NE(dom.find("<html lang=\"de\">"), std::string::npos) << dom.substr(0, 500);
  testing::ExpectPageShowsFigures(dom, samples.store());
  // The charts are in the DOM as SVG with their bars.
  EXPECT_NE(dom.find("<svg id=\"diagramm-leistungen-eingang\""), std::string::npos);
  EXPECT_NE(dom.find("class=\"balken\""), std::string::npos);

  Capture(common + "--screenshot=" + png + " --window-size=1280,1600 file://" + page, &status);
  ASSERT_EQ(status, 0) << "chromium --screenshot failed";
  ASSERT_TRUE(fs::exists(png));
  std::ifstream in(png, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GE(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  // IHDR: width and height, big-endian, at bytes 16..23.
  auto be32 = [&](size_t at) {
    return (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at])) << 24) |
           (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 16) |
           (static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 8) |
           static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3]));
  };
  EXPECT_EQ(be32(16), 1280u);
  EXPECT_EQ(be32(20), 1600u);
  EXPECT_GT(bytes.size(), 20000u) << "the screenshot looks empty";
  std::printf("status page: %s\nscreenshot:  %s (%zu bytes)\n", page.c_str(), png.c_str(),
              bytes.size());
}

}  // namespace
}  // namespace amtsweg::report
