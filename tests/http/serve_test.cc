// `amtsweg serve` and `amtsweg run --listen` as processes: they print where they listen, answer
// through a real client (over https with the --tls-* flags) and stop cleanly on SIGTERM;
// `amtsweg token` makes lines they accept.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/common/value.h"
#include "tests/testing/binary.h"
#include "tests/testing/files.h"
#include "tests/testing/pki.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg {
namespace {

namespace fs = std::filesystem;

const std::string kRepo = AMTSWEG_SOURCE_DIR;
const std::string kBinary = AMTSWEG_BINARY;
const std::string kDirectory = kRepo + "/workflows/directory/schleswig-holstein.yaml";

// Runs the binary to its end; returns exit code and standard output.
std::pair<int, std::string> RunToEnd(const std::string& args) {
  FILE* p = popen((kBinary + " " + args + " 2>/dev/null").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
    out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// A child process whose standard output or error (`from_fd`) is read line by line.
class Child {
 public:
  Child(const std::vector<std::string>& args, int from_fd) {
    int fds[2];
    EXPECT_EQ(pipe(fds), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], from_fd);
      close(fds[0]);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(kBinary.c_str()));
      for (const std::string& a : args)
        argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(kBinary.c_str(), argv.data());
      _exit(127);
    }
    close(fds[1]);
    in_ = fdopen(fds[0], "r");
  }
  ~Child() {
    if (pid_ > 0) Stop();
    if (in_ != nullptr) fclose(in_);
  }
  // The next line containing `marker` (blocks until the child writes it or exits).
  std::string LineWith(const std::string& marker) {
    char buf[4096];
    while (fgets(buf, sizeof(buf), in_) != nullptr) {
      std::string line(buf);
      if (line.find(marker) != std::string::npos) return line;
    }
    return "";
  }
  // SIGTERM, then the exit code. Reads what the child still writes, so that it never blocks
  // on a full pipe while stopping.
  int Stop() {
    kill(pid_, SIGTERM);
    char buf[4096];
    while (fgets(buf, sizeof(buf), in_) != nullptr) {
    }
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* in_ = nullptr;
};

int PortOf(const std::string& line) {
  size_t colon = line.rfind(':');
  return colon == std::string::npos ? -1 : std::atoi(line.c_str() + colon + 1);
}

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto [code, out] = RunToEnd("token --name pruefer --role auditor");
    ASSERT_EQ(code, 0);
    // "token: T\n  - {name: pruefer, ...}\n"
    std::istringstream lines(out);
    std::string first, second;
    std::getline(lines, first);
    std::getline(lines, second);
    ASSERT_EQ(first.rfind("token: ", 0), 0u) << out;
    token_ = first.substr(7);
    std::ofstream(dir_ + "/principals.yaml") << "principals:\n" << second << "\n";
  }

  Value Cases(int port) {
    httplib::Client client("127.0.0.1", port);
    auto r = client.Get("/api/v1/cases?limit=1000", {{"Authorization", "Bearer " + token_}});
    EXPECT_TRUE(r);
    if (!r) return Value();
    EXPECT_EQ(r->status, 200) << r->body;
    Result<Value> v = Value::ParseJson(r->body);
    EXPECT_TRUE(v.ok());
    return v.ok() ? *v : Value();
  }

  testing::TempDir tmp_{"amtsweg-serve"};
  const std::string dir_ = tmp_.path();
  std::string token_;
};

TEST_F(ServeTest, RunListenAndServeAnswerWithTheTokenOfAmtswegToken) {
  // The first run follows a copy of the sample that holds, at first, only the lines of its first
  // five cases: however far the engine got when the API answers (none of them, or all, depending
  // on the timing), it cannot be further. The rest is appended before the second run.
  const std::string shipped =
      testing::ReadFile(kRepo + "/workflows/samples/01-gewerbeanmeldung.jsonl");
  size_t sixth_case = shipped.find("\"subject\":\"GA-2026-0006\"");
  ASSERT_NE(sixth_case, std::string::npos);
  const size_t split = shipped.rfind('\n', sixth_case) + 1;
  const std::string sample = dir_ + "/01-gewerbeanmeldung.jsonl";
  std::ofstream(sample) << shipped.substr(0, split);
  {
    // Following the file (no --until-idle) until SIGTERM, with the API beside the engine.
    Child run({"run", "--workflows", kRepo + "/workflows", "--directory", kDirectory, "--data-dir",
               dir_ + "/data", "--source", "file:" + sample, "--listen", "127.0.0.1:0",
               "--principals", dir_ + "/principals.yaml"},
              STDERR_FILENO);
    int port = PortOf(run.LineWith("api: listening on 127.0.0.1:"));
    ASSERT_GT(port, 0);
    Value v = Cases(port);
    EXPECT_LE(v["cases"].size(), 5u);  // however far the engine got
    EXPECT_EQ(run.Stop(), 0);
  }
  // Whatever the first run had not read yet: the store continues from its stored position.
  std::ofstream(sample, std::ios::app) << shipped.substr(split);
  EXPECT_EQ(RunToEnd("run --workflows " + kRepo + "/workflows --directory " + kDirectory +
                     " --data-dir " + dir_ + "/data --source file:" + sample + " --until-idle -q")
                .first,
            0);
  Child serve({"serve", "--data", dir_ + "/data", "--directory", kDirectory, "--principals",
               dir_ + "/principals.yaml", "--listen", "127.0.0.1:0"},
              STDOUT_FILENO);
  int port = PortOf(serve.LineWith("listening on 127.0.0.1:"));
  ASSERT_GT(port, 0);
  EXPECT_EQ(Cases(port)["cases"].size(), 7u);
  httplib::Client client("127.0.0.1", port);
  auto wrong = client.Get("/api/v1/cases", {{"Authorization", "Bearer nope"}});
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(serve.Stop(), 0);
}

TEST_F(ServeTest, BadApiOptionsAreUsageErrors) {
  const std::string common = " --directory " + kDirectory + " --data " + dir_;
  EXPECT_EQ(RunToEnd("serve" + common + " --principals " + kDirectory).first, 2);
  EXPECT_EQ(
      RunToEnd("serve" + common + " --principals " + dir_ + "/principals.yaml --listen nowhere")
          .first,
      2);
  EXPECT_EQ(RunToEnd("serve" + common + " --principals " + dir_ +
                     "/principals.yaml --max-connections-per-client 0")
                .first,
            2);
  EXPECT_EQ(RunToEnd("run --workflows " + kRepo + "/workflows --directory " + kDirectory +
                     " --data-dir " + dir_ +
                     "/d --advance-to 2026-01-01T00:00:00Z --listen "
                     "127.0.0.1:0")
                .first,
            2);
}

TEST_F(ServeTest, ServeAndRunListenSpeakHttpsWithTheTlsFlags) {
  testing::Pki pki;
  ASSERT_EQ(pki.MakeCa("server"), "");
  ASSERT_EQ(pki.MakeCertificate("server", "server"), "");
  const std::string sample = kRepo + "/workflows/samples/01-gewerbeanmeldung.jsonl";
  auto https_cases = [&](int port) {
    httplib::SSLClient client("127.0.0.1", port);
    client.set_ca_cert_path(pki.Path("server.ca.pem"));
    client.enable_server_certificate_verification(true);
    auto r = client.Get("/api/v1/cases?limit=1000", {{"Authorization", "Bearer " + token_}});
    EXPECT_TRUE(r) << httplib::to_string(r.error());
    if (!r) return Value();
    EXPECT_EQ(r->status, 200) << r->body;
    Result<Value> v = Value::ParseJson(r->body);
    return v.ok() ? *v : Value();
  };
  {
    Child run({"run", "--workflows", kRepo + "/workflows", "--directory", kDirectory, "--data-dir",
               dir_ + "/data", "--source", "file:" + sample, "--listen", "127.0.0.1:0",
               "--principals", dir_ + "/principals.yaml", "--tls-cert", pki.Path("server.pem"),
               "--tls-key", pki.Path("server.key")},
              STDERR_FILENO);
    int port = PortOf(run.LineWith("api: listening on https://127.0.0.1:"));
    ASSERT_GT(port, 0);
    EXPECT_LE(https_cases(port)["cases"].size(), 7u);  // however far the engine got
    httplib::Client plain("127.0.0.1", port);
    EXPECT_FALSE(plain.Get("/healthz"));
    EXPECT_EQ(run.Stop(), 0);
  }
  Child serve({"serve", "--data", dir_ + "/data", "--directory", kDirectory, "--principals",
               dir_ + "/principals.yaml", "--listen", "127.0.0.1:0", "--tls-cert",
               pki.Path("server.pem"), "--tls-key", pki.Path("server.key")},
              STDOUT_FILENO);
  int port = PortOf(serve.LineWith("amtsweg serve: listening on https://127.0.0.1:"));
  ASSERT_GT(port, 0);
  EXPECT_FALSE(https_cases(port)["cases"].items().empty());
  EXPECT_EQ(serve.Stop(), 0);
}

TEST_F(ServeTest, BadTlsFlagsAreUsageErrorsSayingWhichFlagAndFile) {
  testing::Pki pki;
  ASSERT_EQ(pki.MakeCa("server"), "");
  ASSERT_EQ(pki.MakeCertificate("server", "server"), "");
  ASSERT_EQ(pki.MakeCertificate("other", "server"), "");
  const std::string serve = "serve --directory " + kDirectory + " --data " + dir_ +
                            "/data --principals " + dir_ + "/principals.yaml --listen 127.0.0.1:0";
  const std::string cert = pki.Path("server.pem");
  const std::string key = pki.Path("server.key");
  const std::string missing = pki.Path("missing.pem");
  for (auto [flags, message] : std::vector<std::pair<std::string, std::string>>{
           {" --tls-cert " + cert, "--tls-cert " + cert + " needs --tls-key"},
           {" --tls-key " + key, "--tls-key " + key + " needs --tls-cert"},
           {" --tls-cert " + cert + " --tls-key " + pki.Path("other.key"),
            "the key --tls-key " + pki.Path("other.key") + " does not belong to the certificate"},
           {" --tls-client-ca " + pki.Path("server.ca.pem"),
            "--tls-client-ca " + pki.Path("server.ca.pem") + " needs --tls-cert and --tls-key"},
           {" --tls-cert " + key + " --tls-key " + key,
            "--tls-cert " + key + ": expected PEM certificates"},
           {" --tls-cert " + missing + " --tls-key " + key, "--tls-cert: File does not exist"},
       }) {
    testing::Output o = testing::RunAmtsweg(serve + flags);
    EXPECT_EQ(o.code, 2) << flags << ": " << o.err;
    EXPECT_NE(o.err.find(message), std::string::npos) << "'" << message << "' not in " << o.err;
    EXPECT_EQ(o.out.find("listening"), std::string::npos) << o.out;
  }
  // run: the TLS flags belong to --listen.
  testing::Output o = testing::RunAmtsweg(
      "run --workflows " + kRepo + "/workflows --directory " + kDirectory + " --data-dir " + dir_ +
      "/d --advance-to 2026-01-01T00:00:00Z --tls-cert " + cert + " --tls-key " + key);
  EXPECT_EQ(o.code, 2) << o.err;
  EXPECT_NE(o.err.find("--tls-cert requires --listen"), std::string::npos) << o.err;
}

}  // namespace
}  // namespace amtsweg
