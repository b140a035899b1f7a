// Erasure through the binary (docs/data-protection.md): after `case erase`, no personal value of
// the case is anywhere in the data directory or the key store, every view shows the fields as
// erased, the chain verifies, and the statistics do not change. Refusals change nothing.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/binary.h"
#include "tests/testing/files.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg {
namespace {

namespace fs = std::filesystem;
using amtsweg::testing::FilesContaining;
using amtsweg::testing::Output;

const std::string kRepo = AMTSWEG_SOURCE_DIR;
const std::string kDirectory = kRepo + "/workflows/directory/schleswig-holstein.yaml";

Output Amtsweg(const std::string& args) {
  return amtsweg::testing::RunAmtsweg(args);
}

class DataProtectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<testing::TempDir>();
    data_ = dir_->path() + "/data";
    // Outbound messages go outside the data directory: they are the recipients' copies, which
    // the erasure notices ask them to erase.
    Output run = Amtsweg("run -q --workflows " + kRepo + "/workflows --directory " + kDirectory +
                         " --data-dir " + data_ + " --out " + dir_->path() + "/out" +
                         " --source file:" + kRepo +
                         "/workflows/samples/01-gewerbeanmeldung.jsonl --until-idle");
    ASSERT_EQ(run.code, 0) << run.err;
  }

  Output Erase(const std::string& id) {
    return Amtsweg("case erase " + id +
                   " --reason \"Antrag der Betroffenen\" --basis \"Art. 17(1)(a) " +
                   "DSGVO\" --directory " + kDirectory + " --data-dir " + data_);
  }

  std::unique_ptr<testing::TempDir> dir_;
  std::string data_;
};

// Values of GA-2026-0001's application and of a response to it (workflows/samples).
const std::vector<std::string> kPersonal = {"Bäckerei Jensen", "Wohnweg 7, 01002", "1980-01-15",
                                            "Hauptstraße 1, 01002", "HK-KI-2019-0815"};

TEST_F(DataProtectionTest, AnErasedCaseLeavesNoPersonalValueInTheStoreAndShowsItErased) {
  Output stats_before = Amtsweg("stats --month 2026-01 --format csv --data-dir " + data_);
  ASSERT_EQ(stats_before.code, 0) << stats_before.err;
  Output shown = Amtsweg("case show GA-2026-0001 --json --data-dir " + data_);
  ASSERT_EQ(shown.code, 0) << shown.err;
  for (const std::string& v : kPersonal) {
    // The values are the case's and readable with its key (the history holds the response).
    Output history = Amtsweg("case history GA-2026-0001 --data-dir " + data_);
    EXPECT_NE(history.out.find(v), std::string::npos) << v;
  }

  Output erased = Erase("GA-2026-0001");
  ASSERT_EQ(erased.code, 0) << erased.err;
  EXPECT_NE(erased.out.find("ihk-kiel"), std::string::npos) << erased.out;  // notified

  for (const std::string& v : kPersonal) {
    EXPECT_EQ(FilesContaining(data_, v), std::vector<std::string>()) << v;
    EXPECT_EQ(FilesContaining(data_ + ".keys", v), std::vector<std::string>()) << v;
  }
  Output after = Amtsweg("case show GA-2026-0001 --json --data-dir " + data_);
  ASSERT_EQ(after.code, 0) << after.err;
  EXPECT_NE(after.out.find("\"erased_at\""), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("\"outcome\":\"notified\""), std::string::npos) << after.out;
  EXPECT_NE(after.out.find("\"ags\":\"01002000\""), std::string::npos) << after.out;
  Output history = Amtsweg("case history GA-2026-0001 --data-dir " + data_);
  ASSERT_EQ(history.code, 0) << history.err;
  EXPECT_NE(history.out.find("\"erased\":[\"/application/"), std::string::npos);
  EXPECT_NE(history.out.find("\"type\":\"case.erased\""), std::string::npos);
  for (const std::string& v : kPersonal)
    EXPECT_EQ(history.out.find(v), std::string::npos) << v;
  EXPECT_EQ(Amtsweg("replay --verify GA-2026-0001 --data-dir " + data_).code, 0);
  EXPECT_EQ(Amtsweg("audit verify -q --data-dir " + data_).code, 0);
  Output stats_after = Amtsweg("stats --month 2026-01 --format csv --data-dir " + data_);
  EXPECT_EQ(stats_after.out, stats_before.out);
  // Other cases keep their data.
  Output other = Amtsweg("case history GA-2026-0002 --data-dir " + data_);
  EXPECT_EQ(other.out.find("\"erased\""), std::string::npos);

  // Idempotent: a second erasure changes nothing.
  Output again = Erase("GA-2026-0001");
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_NE(again.out.find("nothing to do"), std::string::npos) << again.out;
}

TEST_F(DataProtectionTest, RefusedErasuresChangeNothing) {
  Output unknown = Erase("GA-2099-0001");
  EXPECT_EQ(unknown.code, 1) << unknown.err;
  EXPECT_NE(unknown.err.find("no case 'GA-2099-0001'"), std::string::npos) << unknown.err;

  // A case that is still open: its data is needed for the procedure.
  Output list = Amtsweg("case list --outcome open --json --data-dir " + data_);
  ASSERT_EQ(list.code, 0);
  size_t at = list.out.find("\"case\":\"");
  if (at != std::string::npos) {
    std::string id = list.out.substr(at + 8, list.out.find('"', at + 8) - at - 8);
    Output before = Amtsweg("case history " + id + " --data-dir " + data_);
    Output open = Erase(id);
    EXPECT_EQ(open.code, 1);
    EXPECT_NE(open.err.find("open-case"), std::string::npos) << open.err;
    EXPECT_EQ(Amtsweg("case history " + id + " --data-dir " + data_).out, before.out);
  }

  // Without a basis, or with a KEK that is not the key store's.
  Output no_basis = Amtsweg("case erase GA-2026-0001 --reason x --directory " + kDirectory +
                            " --data-dir " + data_);
  EXPECT_NE(no_basis.code, 0);
  std::string wrong = dir_->path() + "/wrong.kek";
  Output kek = Amtsweg("keys new-kek --id other");
  ASSERT_EQ(kek.code, 0) << kek.err;
  std::ofstream(wrong) << kek.out;
  fs::permissions(wrong, fs::perms::owner_read | fs::perms::owner_write);
  Output wrong_kek = Amtsweg("case erase GA-2026-0001 --reason x --basis y --kek-file " + wrong +
                             " --directory " + kDirectory + " --data-dir " + data_);
  EXPECT_NE(wrong_kek.code, 0);
  EXPECT_NE(wrong_kek.err.find("does not have"), std::string::npos) << wrong_kek.err;
  Output history = Amtsweg("case history GA-2026-0001 --data-dir " + data_);
  EXPECT_EQ(history.out.find("case.erased"), std::string::npos);
  EXPECT_NE(history.out.find("Bäckerei Jensen"), std::string::npos);
}

TEST_F(DataProtectionTest, RetentionDryRunListsNothingWithoutARetentionRule) {
  Output dry = Amtsweg("retention --dry-run --data-dir " + data_);
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.out.find("0 case(s) would be erased"), std::string::npos) << dry.out;
  Output wet = Amtsweg("retention --data-dir " + data_);
  EXPECT_EQ(wet.code, 2) << wet.err;
}

}  // namespace
}  // namespace amtsweg
