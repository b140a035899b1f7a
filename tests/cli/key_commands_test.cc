// `amtsweg keys new-kek|status|rotate`, end to end through the binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "engine/common/value.h"
#include "engine/crypto/kek.h"
#include "engine/crypto/key_store.h"
#include "engine/store/store.h"
#include "tests/testing/binary.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg {
namespace {

using amtsweg::testing::Output;

// No KEK from the environment of whoever runs the tests.
Output Keys(const std::string& args) {
  return amtsweg::testing::RunAmtsweg("keys " + args, "AMTSWEG_KEK= AMTSWEG_KEK_FILE=");
}

Value StatusJson(const std::string& args) {
  Output o = Keys("status --json " + args);
  EXPECT_EQ(o.code, 0) << o.err;
  Result<Value> v = Value::ParseJson(o.out);
  EXPECT_TRUE(v.ok()) << o.out;
  return v.ok() ? *v : Value();
}

// A key file as it should be: mode 0600 (else amtsweg warns on stderr).
void WriteKeyFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// Exactly one line on stderr, containing `what`.
void ExpectOneLineError(const Output& o, const std::string& what) {
  EXPECT_EQ(o.code, 1) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_NE(o.err.find(what), std::string::npos) << o.err;
}

TEST(KeyCommandsTest, NewKekPrintsALineForTheKeyFile) {
  Output o = Keys("new-kek --id kek-2027");
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_TRUE(std::regex_match(o.out, std::regex("kek-2027 [A-Za-z0-9+/]{43}=\n"))) << o.out;
  EXPECT_NE(o.err.find("0600"), std::string::npos) << o.err;
  ExpectOneLineError(Keys("new-kek --id 'a b'"), "KEK id 'a b'");
}

TEST(KeyCommandsTest, StatusAndRotate) {
  testing::TempDir dir("amtsweg-keys-cli");
  const std::string data = dir.path() + "/data";
  const std::string old_line = crypto::NewKekLine("kek-old");
  const std::string old_file = dir.path() + "/old.kek";
  WriteKeyFile(old_file, old_line + "\n");
  {
    auto keks = crypto::ParseKeks(old_line, "test");
    ASSERT_TRUE(keks.ok());
    auto store = crypto::KeyStore::Open(crypto::DefaultKeyDir(data), std::move(keks).value());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    std::vector<std::string> ids;
    for (int i = 0; i < 2500; ++i)
      ids.push_back("case-" + std::to_string(i));
    ASSERT_TRUE((*store)->Create(ids).ok());
    ASSERT_TRUE((*store)->Destroy({crypto::Erasure{"case-0", 1, "admin", "test", "test"}}).ok());
  }

  const std::string old_args = "--data-dir " + data + " --kek-file " + old_file;
  Value before = StatusJson(old_args);
  EXPECT_EQ(before["key_dir"].as_string(), data + ".keys");
  EXPECT_EQ(before["current_kek"].as_string(), "kek-old");
  EXPECT_EQ(before["keys"].as_int(), 2499);
  EXPECT_EQ(before["keys_by_kek"]["kek-old"].as_int(), 2499);
  EXPECT_EQ(before["erased"].as_int(), 1);
  Output text = Keys("status " + old_args);
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("current KEK  kek-old"), std::string::npos) << text.out;

  // Rotation: the new KEK first, the old one after it.
  const std::string new_line = Keys("new-kek --id kek-new").out;
  const std::string both_file = dir.path() + "/both.kek";
  WriteKeyFile(both_file, "# rotating\n" + new_line + old_line + "\n");
  // Without the data store, whose access log records it, nothing is rewrapped.
  ExpectOneLineError(Keys("rotate --data-dir " + data + " --kek-file " + both_file),
                     "no amtsweg store in '" + data + "'");
  EXPECT_EQ(StatusJson(old_args)["keys_by_kek"]["kek-old"].as_int(), 2499);
  ASSERT_TRUE(store::Store::Open(data).ok());
  Output rotate = Keys("rotate --data-dir " + data + " --kek-file " + both_file);
  ASSERT_EQ(rotate.code, 0) << rotate.err;
  EXPECT_EQ(rotate.err,
            "rewrapped 1000 of 2499 keys\nrewrapped 2000 of 2499 keys\n"
            "rewrapped 2499 of 2499 keys\n");
  EXPECT_NE(rotate.out.find("rewrapped 2499 keys"), std::string::npos) << rotate.out;
  {  // in the audit trail
    auto st = store::Store::Open(data);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    std::vector<store::AccessRecord> log;
    ASSERT_TRUE((*st)
                    ->ScanAccess(0,
                                 [&](const store::AccessRecord& r) {
                                   log.push_back(r);
                                   return true;
                                 })
                    .ok());
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].principal.rfind("local:", 0), 0u) << log[0].principal;
    EXPECT_EQ(log[0].role, "admin");
    EXPECT_EQ(log[0].method, "CLI");
    EXPECT_EQ(log[0].path, "keys rotate --key-dir " + data + ".keys (KEK kek-new)");
    EXPECT_EQ(log[0].status, 0);
  }

  // Then the old line goes.
  const std::string new_file = dir.path() + "/new.kek";
  WriteKeyFile(new_file, new_line);
  Value after = StatusJson("--key-dir " + data + ".keys --kek-file " + new_file);
  EXPECT_EQ(after["current_kek"].as_string(), "kek-new");
  EXPECT_EQ(after["keys_by_kek"]["kek-new"].as_int(), 2499);
  EXPECT_TRUE(after["keys_by_kek"]["kek-old"].is_null());

  // Errors: one line each, exit code 1.
  ExpectOneLineError(Keys("status " + old_args), "holds keys wrapped by the KEK 'kek-new'");
  const std::string impostor = dir.path() + "/impostor.kek";
  WriteKeyFile(impostor, crypto::NewKekLine("kek-new") + "\n");
  ExpectOneLineError(Keys("rotate --data-dir " + data + " --kek-file " + impostor),
                     "is not the one this key store was written with");
  const std::string broken = dir.path() + "/broken.kek";
  WriteKeyFile(broken, "kek-new c2hvcnQ=\n");
  ExpectOneLineError(Keys("status --data-dir " + data + " --kek-file " + broken),
                     "key file " + broken + ": line 1: ");
  ExpectOneLineError(Keys("status --data-dir " + dir.path() + "/nothing --kek-file " + new_file),
                     "does not exist");
  ExpectOneLineError(Keys("status --data-dir " + dir.path() + "/nothing"), "no KEK");
}

}  // namespace
}  // namespace amtsweg
