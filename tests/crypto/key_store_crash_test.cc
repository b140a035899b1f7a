// Crash safety of Destroy: a forked child dies right after Destroy's write, before the physical
// purge; the parent reopens and finds the key gone, the erasure recorded, and Purge (or Destroy
// again) removes the bytes from disk.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>

#include "engine/crypto/key_store.h"
#include "tests/crypto/crypto_test_util.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::crypto {
namespace {

using amtsweg::testing::TempDir;
using testing::CaseId;
using testing::FilesContaining;
using testing::Keks;
using testing::RawKeyRecord;
using testing::WrappedPart;

constexpr int kCrashExit = 42;

// Runs `body` in a forked child, which must end with _exit; returns its exit code, or -signal.
int RunInChild(const std::function<void()>& body) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return -1000;
  if (pid == 0) {
    alarm(60);  // a hung child fails the test instead of hanging it
    body();
    _exit(0);  // no crash happened
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1001;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1002;
}

class KeyStoreCrashTest : public ::testing::TestWithParam<bool> {};

TEST_P(KeyStoreCrashTest, ACrashBetweenDestroysWriteAndThePurgeIsCompletedLater) {
  const bool purge_with_destroy = GetParam();
  TempDir dir("amtsweg-keys-crash");
  const std::string keys_dir = dir.path() + "/keys";
  const std::string kek = NewKekLine("kek-a");
  const std::string victim = CaseId(1234);
  const Erasure erasure{victim, 5000, "admin:meier", "request", "Art. 17 GDPR"};
  std::string wrapped, plain, other;
  {
    auto store = std::move(KeyStore::Open(keys_dir, Keks(kek))).value();
    std::vector<std::string> ids;
    for (int i = 0; i < 2000; ++i)
      ids.push_back(CaseId(i));
    ASSERT_TRUE(store->Create(ids).ok());
    testing::Flush(*store);
    wrapped = WrappedPart(RawKeyRecord(*store, victim));
    plain = std::string((*store->Get(victim))->bytes());
    other = std::string((*store->Get(CaseId(1)))->bytes());
  }

  const int code = RunInChild([&] {
    KeyStore::Options options;
    options.after_destroy_write_for_test = [] { _exit(kCrashExit); };
    Result<std::unique_ptr<KeyStore>> store = KeyStore::Open(keys_dir, Keks(kek), options);
    if (!store.ok()) _exit(1);
    Status s = (*store)->Destroy({erasure});
    std::fprintf(stderr, "child: Destroy returned %s\n", s.ToString().c_str());
    _exit(2);
  });
  ASSERT_EQ(code, kCrashExit);

  auto store = std::move(KeyStore::Open(keys_dir, Keks(kek))).value();
  EXPECT_FALSE((*store->Get(victim)).has_value());
  Result<std::optional<Erasure>> recorded = store->Erased(victim);
  ASSERT_TRUE(recorded.ok());
  ASSERT_TRUE(recorded->has_value());
  EXPECT_EQ(**recorded, erasure);
  // The crash came before the purge: the wrapped bytes are still in a file.
  EXPECT_FALSE(FilesContaining(keys_dir, wrapped).empty());

  if (purge_with_destroy) {
    Erasure again = erasure;
    again.at = 9000;
    ASSERT_TRUE(store->Destroy({again}).ok());
  } else {
    ASSERT_TRUE(store->Purge().ok());
  }
  EXPECT_EQ(FilesContaining(keys_dir, wrapped), std::vector<std::string>());
  EXPECT_EQ(FilesContaining(keys_dir, plain), std::vector<std::string>());
  EXPECT_EQ(**store->Erased(victim), erasure);  // the first record stays
  EXPECT_EQ(std::string((*store->Get(CaseId(1)))->bytes()), other);
  // Nothing pending any more: Purge is cheap and changes nothing.
  ASSERT_TRUE(store->Purge().ok());
}

INSTANTIATE_TEST_SUITE_P(Recovery, KeyStoreCrashTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? "DestroyAgain" : "Purge";
                         });

}  // namespace
}  // namespace amtsweg::crypto
