// amtsweg stats and amtsweg status-page on a store that `amtsweg run` filled with the samples.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <fstream>

#include "tests/report/expected.h"
#include "tests/report/page_check.h"
#include "tests/report/sample_store.h"

namespace amtsweg::report {
namespace {

struct Output {
  int code = -1;
  std::string out;
};

Output Amtsweg(const std::string& args) {
  Output o;
  FILE* p = popen((std::string(AMTSWEG_BINARY) + " " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    o.out.append(buf, n);
  int status = pclose(p);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

class ReportCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    std::string sources;
    for (const std::string& f : testing::SampleFiles())
      sources += " --source file:" + f;
    Output run =
        Amtsweg("run --quiet --workflows " + testing::kRepo + "/workflows --directory " +
                testing::kRepo + "/workflows/directory/schleswig-holstein.yaml" + " --data-dir " +
                data() + sources + " --until-idle --advance-to 2028-12-31T00:00:00Z");
    ASSERT_EQ(run.code, 0) << run.out;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static std::string data() { return dir_->path() + "/data"; }
  // The expected figures, from the store `amtsweg run` left (opened after the command ended).
  static std::map<testing::Key, testing::Expected> Expected() {
    auto st = store::Store::Open(data());
    EXPECT_TRUE(st.ok());
    return testing::ExpectedFigures(**st);
  }
  static testing::TempDir* dir_;
};
testing::TempDir* ReportCli::dir_ = nullptr;

TEST_F(ReportCli, StatsCsvAndJson) {
  std::map<std::string, std::map<std::pair<std::string, std::string>, uint64_t>> by_month;
  for (const auto& [key, x] : Expected())
    if (x.opened > 0) by_month[std::get<0>(key)][{std::get<2>(key), std::get<1>(key)}] = x.opened;
  ASSERT_GE(by_month.size(), 3u);
  for (const auto& [month, counts] : by_month) {
    std::string csv = "month,region_key,leika_key,count\r\n";
    for (const auto& [key, n] : counts)
      csv += month + "," + key.first + "," + key.second + "," + std::to_string(n) + "\r\n";
    Output o = Amtsweg("stats --data " + data() + " --month " + month);
    EXPECT_EQ(o.code, 0) << o.out;
    EXPECT_EQ(o.out, csv);
    o = Amtsweg("stats --data " + data() + " --month " + month + " --format json");
    EXPECT_EQ(o.code, 0) << o.out;
    Result<Value> json = Value::ParseJson(o.out);
    ASSERT_TRUE(json.ok()) << o.out;
    ASSERT_EQ(json->size(), counts.size());
    for (const Value& row : json->items())
      EXPECT_EQ(row["count"].as_int(),
                static_cast<int64_t>(
                    counts.at({row["region_key"].as_string(), row["leika_key"].as_string()})));
  }
  Output none = Amtsweg("stats --data " + data() + " --month 1999-01");
  EXPECT_EQ(none.code, 0);
  EXPECT_EQ(none.out, "month,region_key,leika_key,count\r\n");
}

TEST_F(ReportCli, StatsRefusesBadArguments) {
  EXPECT_EQ(Amtsweg("stats --data " + data() + " --month 2026-13").code, 2);
  EXPECT_EQ(Amtsweg("stats --data " + data() + " --month 2026-03 --format xml").code, 2);
  EXPECT_EQ(Amtsweg("stats --data " + dir_->path() + "/nothing --month 2026-03").code, 3);
}

TEST_F(ReportCli, StatusPage) {
  std::string file = dir_->path() + "/status.html";
  Output o = Amtsweg("status-page --data " + data() + " --out " + file + " --workflows " +
                     testing::kRepo + "/workflows --as-of 2028-12-31T00:00:00Z");
  ASSERT_EQ(o.code, 0) << o.out;
  std::ifstream in(file);
  std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto st = store::Store::Open(data());
  ASSERT_TRUE(st.ok());
  testing::ExpectPageShowsFigures(page, **st);
  EXPECT_NE(page.find("Gewerbeanmeldung (§14 GewO)"), std::string::npos);  // the title
  EXPECT_NE(page.find("31.12.2028, 01:00 Uhr"), std::string::npos);
  EXPECT_EQ(Amtsweg("status-page --data " + data() + " --out " + file + " --as-of gestern").code,
            2);
}

}  // namespace
}  // namespace amtsweg::report
