// amtsweg on a broker that authenticates and authorises, as docs/operations.md ("Kafka with SASL
// and ACLs") tells an operator to set it up: a broker of its own, started by `scripts/kafka` with
// AMTSWEG_KAFKA_SASL=1 (SASL_SSL with a CA and certificate made for the run, SCRAM-SHA-512, the
// StandardAuthorizer refusing what no ACL allows) with a user per party, and the ACLs of the
// operations guide:
//   - amtsweg: everything on the topics named amtsweg.* and its consumer group;
//   - the portal: write to the input topic only;
//   - each organisation: read its own topic only (amtsweg.org.<id>), with a group of its own.
// The tests show that the engine runs as its own user, that an organisation reads its own events
// and nobody else's, that an organisation cannot write into the input topic (it cannot answer in
// anybody's name there), and that refused credentials end a run with a clear error instead of
// retrying without end.
//
// The broker's port is AMTSWEG_KAFKA_PORT + 10 (and the next one for its controller), so that it
// runs beside the broker of the other Kafka tests. Passwords come from the test's seed.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/common/value.h"
#include "tests/testing/binary.h"
#include "tests/testing/seed.h"
#include "tests/testing/shell.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kRepo = AMTSWEG_SOURCE_DIR;
constexpr char kInput[] = "amtsweg.in";
constexpr char kSample[] = "/workflows/samples/01-gewerbeanmeldung.jsonl";
// The input topic of the forwarding test: only amtsweg (the forwarder) writes to it.
constexpr char kRecords[] = "amtsweg.records";

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

using testing::Shell;
using testing::ShellResult;

std::string Quote(const std::string& text) {
  return testing::ShellQuote(text);
}

struct User {
  std::string name;
  std::string password;
};

// A password of 24 letters and digits from `rng`.
std::string Password(std::mt19937_64& rng) {
  static constexpr char kAlphabet[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::uniform_int_distribution<size_t> pick(0, sizeof(kAlphabet) - 2);
  std::string out;
  for (int i = 0; i < 24; ++i)
    out += kAlphabet[pick(rng)];
  return out;
}

class KafkaSaslTest : public ::testing::Test {
 protected:
  // One broker for the suite: it takes seconds to start.
  static void SetUpTestSuite() {
    const std::string script = Env("AMTSWEG_KAFKA_SCRIPT");
    if (script.empty()) return;  // SetUp fails each test with the reason
    const uint64_t seed = testing::TestSeed();
    std::mt19937_64 rng(seed);
    amtsweg_ = {"amtsweg", Password(rng)};
    portal_ = {"ozg-portal-sh", Password(rng)};
    ihk_ = {"ihk-kiel", Password(rng)};
    gewerbeamt_ = {"gewerbeamt-kiel", Password(rng)};
    hwk_ = {"hwk-luebeck", Password(rng)};
    home_ = new testing::TempDir("amtsweg-kafka-sasl");
    const std::string base =
        Env("AMTSWEG_KAFKA_PORT").empty() ? "19092" : Env("AMTSWEG_KAFKA_PORT");
    port_ = std::stoi(base) + 10;
    std::string users;
    for (const User* u : {&amtsweg_, &portal_, &ihk_, &gewerbeamt_, &hwk_})
      users += u->name + ":" + u->password + " ";
    env_ = "AMTSWEG_KAFKA_HOME=" + Quote(home_->path() + "/kafka") +
           " AMTSWEG_KAFKA_PORT=" + std::to_string(port_) +
           " AMTSWEG_KAFKA_SASL=1 AMTSWEG_KAFKA_USERS=" + Quote(users) + " " + Quote(script);
    ShellResult start = Shell(env_ + " start");
    if (start.code != 0) {
      start_error_ = "scripts/kafka start (SASL) failed:\n" + start.output;
      return;
    }
    started_ = true;
    // The operations guide's topics and ACLs (docs/operations.md, "Kafka with SASL and ACLs").
    const std::vector<std::string> setup = {
        "topic " + std::string(kInput) + " 2",
        "acl --add --allow-principal User:amtsweg --operation All --resource-pattern-type "
        "prefixed --topic amtsweg.",
        "acl --add --allow-principal User:amtsweg --operation Read --group amtsweg",
        "acl --add --allow-principal User:ozg-portal-sh --operation Write --operation Describe "
        "--topic " +
            std::string(kInput),
        "acl --add --allow-principal User:ihk-kiel --operation Read --operation Describe --topic "
        "amtsweg.org.ihk-kiel",
        "acl --add --allow-principal User:ihk-kiel --operation Read --group ihk-kiel",
        "acl --add --allow-principal User:gewerbeamt-kiel --operation Read --operation Describe "
        "--topic amtsweg.org.gewerbeamt-kiel",
        "acl --add --allow-principal User:gewerbeamt-kiel --operation Read --group "
        "gewerbeamt-kiel",
        // Ingress topics (docs/operations.md, "Each party on a topic of its own"): the forwarder
        // runs as amtsweg; each party writes to its own ingress topic only.
        "topic " + std::string(kRecords) + " 2",
        "topic amtsweg.in.ozg-portal-sh 2",
        "topic amtsweg.in.hwk-luebeck 2",
        "topic amtsweg.in.gewerbeamt-kiel 2",
        "acl --add --allow-principal User:amtsweg --operation Read --group amtsweg-forwarder",
        "acl --add --allow-principal User:ozg-portal-sh --operation Write --operation Describe "
        "--topic amtsweg.in.ozg-portal-sh",
        "acl --add --allow-principal User:hwk-luebeck --operation Write --operation Describe "
        "--topic amtsweg.in.hwk-luebeck",
        "acl --add --allow-principal User:gewerbeamt-kiel --operation Write --operation Describe "
        "--topic amtsweg.in.gewerbeamt-kiel",
    };
    for (const std::string& step : setup) {
      ShellResult r = Shell(env_ + " " + step);
      if (r.code != 0) {
        start_error_ = "scripts/kafka " + step + " failed:\n" + r.output;
        return;
      }
    }
  }

  static void TearDownTestSuite() {
    if (started_) Shell(env_ + " stop");
    started_ = false;
    delete home_;
    home_ = nullptr;
  }

  void SetUp() override {
    if (Env("AMTSWEG_KAFKA_SCRIPT").empty()) {
      GTEST_FAIL() << "AMTSWEG_KAFKA_SCRIPT is not set: these tests start a SASL broker of their "
                      "own with scripts/kafka; scripts/test exports it (see tests/kafka/README.md)";
    }
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    ASSERT_TRUE(started_);
  }

  static std::string Bootstrap() { return "127.0.0.1:" + std::to_string(port_); }
  // The CA that signed the broker's certificate (scripts/kafka makes both at the start).
  static std::string CaFile() { return home_->path() + "/kafka/ca.pem"; }

  // The librdkafka properties of `user`, as amtsweg's -X options.
  static std::string As(const User& user) {
    return "-X security.protocol=SASL_SSL -X ssl.ca.location=" + Quote(CaFile()) +
           " -X sasl.mechanisms=SCRAM-SHA-512 -X sasl.username=" + Quote(user.name) +
           " -X sasl.password=" + Quote(user.password);
  }

  static testing::Output Produce(const User& as) {
    return testing::RunAmtsweg("--log-level off produce " + Quote(kRepo + kSample) +
                               " --bootstrap " + Bootstrap() + " --topic " + kInput + " " + As(as));
  }

  testing::Output RunEngine(const std::string& data_dir, const User& as) {
    return testing::RunAmtsweg(
        "--log-level off run --workflows " + Quote(kRepo + "/workflows") + " --directory " +
        Quote(kRepo + "/workflows/directory/schleswig-holstein.yaml") + " --data-dir " +
        Quote(data_dir) + " --source kafka --bootstrap " + Bootstrap() + " --topic " + kInput +
        " --group amtsweg --until-idle --no-sync " + As(as));
  }

  // Reads `topic` from its start as `user` until its end. The messages' values, or the error the
  // broker answered.
  struct Read {
    std::vector<std::string> values;
    std::vector<std::map<std::string, std::string>> headers;  // of each value
    std::string error;
  };
  static Read ReadTopic(const User& user, const std::string& topic) {
    Read out;
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    const std::vector<std::pair<std::string, std::string>> props = {
        {"bootstrap.servers", Bootstrap()},
        {"security.protocol", "SASL_SSL"},
        {"ssl.ca.location", CaFile()},
        {"sasl.mechanisms", "SCRAM-SHA-512"},
        {"sasl.username", user.name},
        {"sasl.password", user.password},
        {"group.id", user.name},
        {"enable.partition.eof", "true"},
        {"enable.auto.commit", "false"},
        {"auto.offset.reset", "earliest"},
        {"log_level", "0"}};
    for (const auto& [k, v] : props) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr)) !=
          RD_KAFKA_CONF_OK) {
        out.error = errstr;
        rd_kafka_conf_destroy(conf);
        return out;
      }
    }
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (rk == nullptr) {
      out.error = errstr;
      return out;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic.c_str(), RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    // Until every partition reached its end, or the broker refused; a bounded wait.
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    int eofs = 0;
    const int partitions = 2;
    while (std::chrono::steady_clock::now() < deadline && eofs < partitions && out.error.empty()) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 500);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ++eofs;
      } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        out.error = std::string(rd_kafka_err2name(m->err)) + ": " + rd_kafka_message_errstr(m);
      } else {
        out.values.emplace_back(static_cast<const char*>(m->payload), m->len);
        std::map<std::string, std::string>& h = out.headers.emplace_back();
        rd_kafka_headers_t* hdrs = nullptr;
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
          const char* name = nullptr;
          const void* value = nullptr;
          size_t size = 0;
          for (size_t i = 0;
               rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
               ++i) {
            h[name] = value != nullptr ? std::string(static_cast<const char*>(value), size) : "";
          }
        }
      }
      rd_kafka_message_destroy(m);
    }
    if (out.error.empty() && eofs < partitions) out.error = "timed out reading " + topic;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return out;
  }

  // Sends `line` (a CloudEvent, keyed by its subject) to `topic` as `user`, with `headers`.
  // librdkafka's error text, or "" once the broker took it.
  static std::string Send(const User& user, const std::string& topic, const std::string& line,
                          const std::vector<std::pair<std::string, std::string>>& headers = {}) {
    char errstr[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    const std::vector<std::pair<std::string, std::string>> props = {
        {"bootstrap.servers", Bootstrap()},
        {"security.protocol", "SASL_SSL"},
        {"ssl.ca.location", CaFile()},
        {"sasl.mechanisms", "SCRAM-SHA-512"},
        {"sasl.username", user.name},
        {"sasl.password", user.password},
        {"partitioner", "murmur2_random"},
        {"message.timeout.ms", "30000"},
        {"log_level", "0"}};
    for (const auto& [k, v] : props) {
      if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof(errstr)) !=
          RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return errstr;
      }
    }
    std::string result;
    rd_kafka_conf_set_opaque(conf, &result);
    rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR)
        *static_cast<std::string*>(opaque) = rd_kafka_err2str(m->err);
    });
    rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == nullptr) return errstr;
    Result<Value> event = Value::ParseJson(line);
    const std::string key = event.ok() ? (*event)["subject"].as_string() : "";
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& [name, value] : headers)
      rd_kafka_header_add(hdrs, name.c_str(), -1, value.data(), static_cast<ssize_t>(value.size()));
    std::vector<rd_kafka_vu_t> vus(5);
    for (rd_kafka_vu_t& vu : vus)
      std::memset(&vu, 0, sizeof(vu));
    vus[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[0].u.cstr = topic.c_str();
    vus[1].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[1].u.i = RD_KAFKA_MSG_F_COPY;
    vus[2].vtype = RD_KAFKA_VTYPE_KEY;
    vus[2].u.mem.ptr = const_cast<char*>(key.data());
    vus[2].u.mem.size = key.size();
    vus[3].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[3].u.mem.ptr = const_cast<char*>(line.data());
    vus[3].u.mem.size = line.size();
    vus[4].vtype = RD_KAFKA_VTYPE_HEADERS;
    vus[4].u.headers = hdrs;
    if (rd_kafka_error_t* error = rd_kafka_produceva(rk, vus.data(), vus.size())) {
      result = rd_kafka_error_string(error);
      rd_kafka_error_destroy(error);
      rd_kafka_headers_destroy(hdrs);
    } else if (rd_kafka_flush(rk, 40000) != RD_KAFKA_RESP_ERR_NO_ERROR && result.empty()) {
      result = "not delivered in time";
    }
    rd_kafka_destroy(rk);
    return result;
  }

  static testing::Output ForwardAll() {
    return testing::RunAmtsweg("--log-level off forward --bootstrap " + Bootstrap() + " --topic " +
                               kRecords + " --until-idle " + As(amtsweg_));
  }

  static inline User amtsweg_, portal_, ihk_, gewerbeamt_, hwk_;
  static inline testing::TempDir* home_ = nullptr;
  static inline int port_ = 0;
  static inline std::string env_;  // the environment and path of scripts/kafka for this broker
  static inline bool started_ = false;
  static inline std::string start_error_;
};

// In one test, because each step needs the one before it: the portal submits, the engine runs,
// each organisation reads its own topic and only that.
TEST_F(KafkaSaslTest, EachPartySpeaksAndReadsOnlyWhatItsAclsAllow) {
  testing::Output produced = Produce(portal_);
  ASSERT_EQ(produced.code, 0) << produced.err;
  EXPECT_NE(produced.out.find("produced 16 events"), std::string::npos) << produced.out;

  testing::TempDir dir("amtsweg-kafka-sasl-run");
  testing::Output run = RunEngine(dir.path() + "/data", amtsweg_);
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("16 accepted"), std::string::npos) << run.out;
  testing::Output cases =
      testing::RunAmtsweg("case list --json --data-dir " + Quote(dir.path() + "/data"));
  ASSERT_EQ(cases.code, 0) << cases.err;
  EXPECT_EQ(testing::JsonLines(cases.out).size(), 7u);

  // The IHK reads the events disclosed to it, and nothing of the Gewerbeamt's topic.
  Read own = ReadTopic(ihk_, "amtsweg.org.ihk-kiel");
  ASSERT_TRUE(own.error.empty()) << own.error;
  ASSERT_FALSE(own.values.empty());
  for (const std::string& v : own.values) {
    Result<Value> event = Value::ParseJson(v);
    ASSERT_TRUE(event.ok()) << v;
    EXPECT_EQ((*event)["data"]["organisation"].as_string(), "ihk-kiel") << v;
  }
  Read other = ReadTopic(ihk_, "amtsweg.org.gewerbeamt-kiel");
  EXPECT_TRUE(other.values.empty());
  EXPECT_NE(other.error.find("TOPIC_AUTHORIZATION_FAILED"), std::string::npos) << other.error;
  // The Gewerbeamt reads its own.
  Read gewerbe = ReadTopic(gewerbeamt_, "amtsweg.org.gewerbeamt-kiel");
  ASSERT_TRUE(gewerbe.error.empty()) << gewerbe.error;
  EXPECT_FALSE(gewerbe.values.empty());
}

// An organisation cannot put an input on the input topic: no answer in anybody's name there.
TEST_F(KafkaSaslTest, AnOrganisationCannotWriteIntoTheInputTopic) {
  testing::Output produced = Produce(ihk_);
  EXPECT_NE(produced.code, 0);
  EXPECT_NE(produced.err.find("Topic authorization failed"), std::string::npos) << produced.err;
}

TEST_F(KafkaSaslTest, RefusedCredentialsEndARunWithTheReason) {
  User wrong = amtsweg_;
  wrong.password += "x";
  testing::TempDir dir("amtsweg-kafka-sasl-wrong");
  testing::Output run = RunEngine(dir.path() + "/data", wrong);
  EXPECT_NE(run.code, 0);
  EXPECT_NE(run.err.find("the broker refused the credentials"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("sasl.username"), std::string::npos) << run.err;

  User wrong_portal = portal_;
  wrong_portal.password += "x";
  testing::Output produced = Produce(wrong_portal);
  EXPECT_NE(produced.code, 0);
  EXPECT_NE(produced.err.find("the broker refused the credentials"), std::string::npos)
      << produced.err;
}

}  // namespace
}  // namespace amtsweg

namespace amtsweg {
namespace {

// Each party writes to its own ingress topic; the forwarder stamps each message with the
// organisation of its topic (removing a stamp the sender forged), and the engine, trusting only
// those stamps, refuses an answer given in another organisation's name.
TEST_F(KafkaSaslTest, AnAnswerInAnotherOrganisationsNameIsRefusedAsImpersonation) {
  std::vector<std::string> lines;
  {
    std::ifstream in(kRepo + kSample);
    std::string line;
    while (std::getline(in, line) && lines.size() < 3)
      lines.push_back(line);  // GA-2026-0001: the application, the HWK's and the Gewerbeamt's
  }
  ASSERT_EQ(lines.size(), 3u);
  ASSERT_NE(lines[2].find(R"("participant":"gewerbeamt-kiel")"), std::string::npos);
  // The application, through the portal's ingress topic.
  ASSERT_EQ(Send(portal_, "amtsweg.in.ozg-portal-sh", lines[0]), "");
  testing::Output f = ForwardAll();
  ASSERT_EQ(f.code, 0) << f.err;
  // The HWK answers for itself.
  ASSERT_EQ(Send(hwk_, "amtsweg.in.hwk-luebeck", lines[1]), "");
  // It cannot write to the Gewerbeamt's topic ...
  EXPECT_NE(Send(hwk_, "amtsweg.in.gewerbeamt-kiel", lines[2]), "");
  // ... so it sends the Gewerbeamt's answer on its own, with a forged stamp.
  ASSERT_EQ(Send(hwk_, "amtsweg.in.hwk-luebeck", lines[2],
                 {{"amtsweg-channel-organisation", "gewerbeamt-kiel"},
                  {"amtsweg-channel", "topic amtsweg.in.gewerbeamt-kiel"}}),
            "");
  f = ForwardAll();
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_NE(f.out.find("2 forged channel headers removed"), std::string::npos) << f.out;
  // The Gewerbeamt's own answer, with the same CloudEvents id, after the forgery.
  ASSERT_EQ(Send(gewerbeamt_, "amtsweg.in.gewerbeamt-kiel", lines[2]), "");
  f = ForwardAll();
  ASSERT_EQ(f.code, 0) << f.err;

  // What the input topic holds: four messages, each stamped with its real channel.
  Read records = ReadTopic(amtsweg_, kRecords);
  ASSERT_TRUE(records.error.empty()) << records.error;
  ASSERT_EQ(records.values.size(), 4u);
  std::multiset<std::string> stamps;
  for (const auto& h : records.headers) {
    ASSERT_EQ(h.count("amtsweg-channel-organisation"), 1u);
    stamps.insert(h.at("amtsweg-channel-organisation") + " via " + h.at("amtsweg-channel"));
  }
  EXPECT_EQ(stamps,
            (std::multiset<std::string>{"gewerbeamt-kiel via topic amtsweg.in.gewerbeamt-kiel",
                                        "hwk-luebeck via topic amtsweg.in.hwk-luebeck",
                                        "hwk-luebeck via topic amtsweg.in.hwk-luebeck",
                                        "ozg-portal-sh via topic amtsweg.in.ozg-portal-sh"}));

  testing::TempDir dir("amtsweg-kafka-sasl-forward");
  const std::string data = dir.path() + "/data";
  testing::Output run = testing::RunAmtsweg(
      "--log-level off run --workflows " + Quote(kRepo + "/workflows") + " --directory " +
      Quote(kRepo + "/workflows/directory/schleswig-holstein.yaml") + " --data-dir " + Quote(data) +
      " --source kafka --bootstrap " + Bootstrap() + " --topic " + kRecords +
      " --group amtsweg --until-idle --no-sync --trust-channel-headers " + As(amtsweg_));
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("3 accepted, 1 refused"), std::string::npos) << run.out;
  testing::Output dead = testing::RunAmtsweg("dead-letters --json --data-dir " + Quote(data));
  ASSERT_EQ(dead.code, 0) << dead.err;
  std::vector<Value> letters = testing::JsonLines(dead.out);
  ASSERT_EQ(letters.size(), 1u) << dead.out;
  EXPECT_EQ(letters[0]["kind"].as_string(), "impersonation") << dead.out;
  const std::string reason = letters[0]["reason"].as_string();
  EXPECT_NE(reason.find("gewerbeamt-kiel"), std::string::npos) << reason;
  EXPECT_NE(reason.find("topic amtsweg.in.hwk-luebeck"), std::string::npos) << reason;

  // The case went on with the real answers: as a run over the three lines from a file.
  testing::TempDir ref("amtsweg-kafka-sasl-reference");
  {
    std::ofstream out(ref.path() + "/in.jsonl");
    for (const std::string& l : lines)
      out << l << "\n";
  }
  testing::Output file_run = testing::RunAmtsweg(
      "--log-level off run --workflows " + Quote(kRepo + "/workflows") + " --directory " +
      Quote(kRepo + "/workflows/directory/schleswig-holstein.yaml") + " --data-dir " +
      Quote(ref.path() + "/data") + " --source file:" + Quote(ref.path() + "/in.jsonl") +
      " --until-idle --no-sync");
  ASSERT_EQ(file_run.code, 0) << file_run.err;
  testing::Output a =
      testing::RunAmtsweg("case show GA-2026-0001 --json --data-dir " + Quote(data));
  testing::Output b = testing::RunAmtsweg("case show GA-2026-0001 --json --data-dir " +
                                          Quote(ref.path() + "/data"));
  ASSERT_EQ(a.code, 0) << a.err;
  ASSERT_EQ(b.code, 0) << b.err;
  Result<Value> via_kafka = Value::ParseJson(a.out);
  Result<Value> via_file = Value::ParseJson(b.out);
  ASSERT_TRUE(via_kafka.ok() && via_file.ok()) << a.out << b.out;
  EXPECT_EQ((*via_kafka)["state"].ToJson(), (*via_file)["state"].ToJson());
  EXPECT_EQ((*via_kafka)["outcome"].ToJson(), (*via_file)["outcome"].ToJson());
}

}  // namespace
}  // namespace amtsweg
