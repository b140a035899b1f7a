#include "engine/crypto/kek.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "tests/testing/temp_dir.h"

namespace amtsweg::crypto {
namespace {

using amtsweg::testing::TempDir;
namespace fs = std::filesystem;

// Sets (or, with nullptr, unsets) an environment variable for the test's lifetime.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      setenv(name, value, 1);
    } else {
      unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_, old_->c_str(), 1);
    } else {
      unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// No KEK from the environment of whoever runs the tests.
struct CleanEnv {
  ScopedEnv kek{"AMTSWEG_KEK", nullptr};
  ScopedEnv kek_file{"AMTSWEG_KEK_FILE", nullptr};
};

constexpr char kB64Of32[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

void ExpectParseError(const std::string& text, const std::string& line, const std::string& what) {
  Result<std::unique_ptr<KeyEncryptionKeys>> keks = ParseKeks(text, "key file /etc/kek");
  ASSERT_FALSE(keks.ok()) << text;
  EXPECT_TRUE(keks.status().IsInvalidArgument());
  const std::string& msg = keks.status().message();
  EXPECT_EQ(msg.rfind("key file /etc/kek: " + line, 0), 0u) << msg;
  EXPECT_NE(msg.find(what), std::string::npos) << msg;
}

TEST(ParseKeksTest, ReadsLinesCommentsAndBlankLines) {
  const std::string text = "# rotation in progress\n\n" + NewKekLine("new-2027") +
                           "\n  # old one, until keys rotate\n" + NewKekLine("old_2026.1") +
                           "  \r\n\n";
  Result<std::unique_ptr<KeyEncryptionKeys>> keks = ParseKeks(text, "test");
  ASSERT_TRUE(keks.ok()) << keks.status().ToString();
  EXPECT_EQ((*keks)->current_id(), "new-2027");
  EXPECT_TRUE((*keks)->Has("new-2027"));
  EXPECT_TRUE((*keks)->Has("old_2026.1"));
  EXPECT_FALSE((*keks)->Has("other"));
  EXPECT_EQ((*keks)->where(), "test");
}

TEST(ParseKeksTest, ErrorsNameTheSourceAndTheLine) {
  ExpectParseError("", "", "no KEK");
  ExpectParseError("# only a comment\n\n", "", "no KEK");
  ExpectParseError("\n\nk1 not*base64!\n", "line 3", "not base64");
  ExpectParseError("k1 AAECAwQ=\n", "line 1", "has 5 bytes, not 32");
  ExpectParseError("k1 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj\n", "line 1",
                   "has 36 bytes, not 32");
  ExpectParseError("k1 AAEC=AwQ\n", "line 1", "not base64");
  ExpectParseError("k1 " + std::string(kB64Of32) + "\n# x\nk1 " + kB64Of32 + "\n", "line 3",
                   "'k1' appears twice");
  ExpectParseError("k/1 " + std::string(kB64Of32) + "\n", "line 1", "character other than");
  ExpectParseError(std::string(65, 'k') + " " + kB64Of32 + "\n", "line 1", "longer than 64");
  ExpectParseError("k1\n", "line 1", "one word");
  ExpectParseError("k1 " + std::string(kB64Of32) + " extra\n", "line 1", "more than two words");
}

TEST(ParseKeksTest, NewKekLineParses) {
  Result<std::unique_ptr<KeyEncryptionKeys>> keks = ParseKeks(NewKekLine("kek-1"), "test");
  ASSERT_TRUE(keks.ok()) << keks.status().ToString();
  EXPECT_EQ((*keks)->current_id(), "kek-1");
  EXPECT_NE(NewKekLine("a"), NewKekLine("a"));
  EXPECT_FALSE(ValidateKekId("").ok());
  EXPECT_FALSE(ValidateKekId("a b").ok());
  EXPECT_TRUE(ValidateKekId("A-z_0.9").ok());
}

TEST(KeyEncryptionKeysTest, WrapBindsCaseAndKek) {
  auto keks = std::move(ParseKeks(NewKekLine("new") + "\n" + NewKekLine("old"), "kekfile")).value();
  DataKey dek = DataKey::Generate();
  std::string kek_id;
  Result<std::string> wrapped = keks->Wrap("case-1", dek, &kek_id);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(kek_id, "new");
  EXPECT_EQ(wrapped->size(), DataKey::kBytes + kSealOverhead);
  EXPECT_EQ(wrapped->find(dek.bytes()), std::string::npos);

  Result<DataKey> back = keks->Unwrap("case-1", "new", *wrapped);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == dek);

  // Another case, or another (configured) KEK id: does not open.
  Result<DataKey> other_case = keks->Unwrap("case-2", "new", *wrapped);
  ASSERT_FALSE(other_case.ok());
  EXPECT_TRUE(other_case.status().IsCorruption());
  EXPECT_NE(other_case.status().message().find("does not open"), std::string::npos);
  EXPECT_FALSE(keks->Unwrap("case-1", "old", *wrapped).ok());

  Result<DataKey> unknown = keks->Unwrap("case-1", "gone", *wrapped);
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(unknown.status().IsNotFound());
  EXPECT_NE(unknown.status().message().find("'gone'"), std::string::npos);

  // A KEK with the same id but other bytes.
  auto impostor = std::move(ParseKeks(NewKekLine("new"), "kekfile")).value();
  Result<DataKey> wrong = impostor->Unwrap("case-1", "new", *wrapped);
  ASSERT_FALSE(wrong.ok());
  EXPECT_TRUE(wrong.status().IsCorruption());
  EXPECT_NE(wrong.status().message().find("does not open"), std::string::npos);
}

TEST(LoadKekFileTest, ReadsAFileAndNamesItInErrors) {
  TempDir dir("amtsweg-kek");
  const std::string path = dir.path() + "/kek";
  Result<std::unique_ptr<KeyEncryptionKeys>> missing = LoadKekFile(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kIOError);
  EXPECT_NE(missing.status().message().find(path), std::string::npos);

  std::ofstream(path) << NewKekLine("k1") << "\nbroken line here\n";
  Result<std::unique_ptr<KeyEncryptionKeys>> broken = LoadKekFile(path);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message().rfind("key file " + path + ": line 2: ", 0), 0u)
      << broken.status().message();

  std::ofstream(path) << NewKekLine("k1") << "\n";
  chmod(path.c_str(), 0644);  // works, with a warning
  Result<std::unique_ptr<KeyEncryptionKeys>> keks = LoadKekFile(path);
  ASSERT_TRUE(keks.ok()) << keks.status().ToString();
  EXPECT_EQ((*keks)->where(), "key file " + path);
}

TEST(DefaultKeyDirTest, IsASiblingOfTheNormalisedDataDir) {
  EXPECT_EQ(DefaultKeyDir("var/data"), "var/data.keys");
  EXPECT_EQ(DefaultKeyDir("var/data/"), "var/data.keys");
  EXPECT_EQ(DefaultKeyDir("var/./data//"), "var/data.keys");
  EXPECT_EQ(DefaultKeyDir("/srv/amtsweg/data"), "/srv/amtsweg/data.keys");
  EXPECT_EQ(DefaultKeyDir("/srv/x/../data/"), "/srv/data.keys");
  const std::string cwd = fs::current_path().lexically_normal().string();
  EXPECT_EQ(DefaultKeyDir("."), cwd + ".keys");
  EXPECT_EQ(DefaultKeyDir("./"), cwd + ".keys");
}

TEST(ResolveKeksTest, GivenFileThenEnvironmentThenDefaultFile) {
  CleanEnv clean;
  TempDir dir("amtsweg-kek");
  const std::string given = dir.path() + "/given";
  std::ofstream(given) << NewKekLine("from-file") << "\n";
  const std::string env_file = dir.path() + "/env-file";
  std::ofstream(env_file) << NewKekLine("from-env-file") << "\n";
  for (const std::string& f : {given, env_file})
    fs::permissions(f, fs::perms::owner_read | fs::perms::owner_write);
  KeyConfig config{dir.path() + "/keys", given};

  auto current = [&](const KeyConfig& c) {
    Result<std::unique_ptr<KeyEncryptionKeys>> keks = ResolveKeks(c, false);
    return keks.ok() ? (*keks)->current_id() : keks.status().ToString();
  };
  EXPECT_EQ(current(config), "from-file");
  KeyConfig no_file{dir.path() + "/keys", ""};
  {
    ScopedEnv file("AMTSWEG_KEK_FILE", env_file.c_str());
    EXPECT_EQ(current(no_file), "from-env-file");
    const std::string text = NewKekLine("from-env");
    ScopedEnv env("AMTSWEG_KEK", text.c_str());
    EXPECT_EQ(current(no_file), "from-env");
    EXPECT_EQ(current(config), "from-file");  // --kek-file wins
    Result<std::unique_ptr<KeyEncryptionKeys>> keks = ResolveKeks(no_file, false);
    ASSERT_TRUE(keks.ok());
    EXPECT_EQ((*keks)->where(), "environment variable AMTSWEG_KEK");
  }
  {
    ScopedEnv env("AMTSWEG_KEK", "k1 tooshort");
    Result<std::unique_ptr<KeyEncryptionKeys>> keks = ResolveKeks(no_file, false);
    ASSERT_FALSE(keks.ok());
    EXPECT_EQ(keks.status().message().rfind("environment variable AMTSWEG_KEK: line 1: ", 0), 0u)
        << keks.status().message();
  }
  // Nothing configured, no default file, no creation.
  Result<std::unique_ptr<KeyEncryptionKeys>> none = ResolveKeks(no_file, false);
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(none.status().IsNotFound());
  EXPECT_NE(none.status().message().find(no_file.key_dir + "/kek"), std::string::npos);
  EXPECT_FALSE(fs::exists(no_file.key_dir));
}

TEST(ResolveKeksTest, CreatesAPrivateDefaultKekFileOnce) {
  CleanEnv clean;
  TempDir dir("amtsweg-kek");
  KeyConfig config{dir.path() + "/data.keys", ""};
  Result<std::unique_ptr<KeyEncryptionKeys>> made = ResolveKeks(config, true);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const std::string id = (*made)->current_id();
  EXPECT_TRUE(std::regex_match(id, std::regex("kek-[0-9]{8}"))) << id;

  struct stat st {};
  ASSERT_EQ(stat((config.key_dir + "/kek").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(config.key_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // The second time it is read, not made again: the same KEK.
  Result<std::unique_ptr<KeyEncryptionKeys>> again = ResolveKeks(config, true);
  ASSERT_TRUE(again.ok());
  std::string kek_id;
  DataKey dek = DataKey::Generate();
  Result<std::string> wrapped = (*made)->Wrap("c", dek, &kek_id);
  ASSERT_TRUE(wrapped.ok());
  Result<DataKey> back = (*again)->Unwrap("c", kek_id, *wrapped);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == dek);
}

}  // namespace
}  // namespace amtsweg::crypto
