#include "connectors/kafka/kafka_config.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <filesystem>
#include <fstream>

#include "tests/testing/temp_dir.h"

namespace amtsweg::connectors {
namespace {

class KafkaConfigTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::string path = dir_ + "/kafka.yaml";
    std::ofstream(path) << text;
    return path;
  }

  amtsweg::testing::TempDir tmp_{"amtsweg-kafka"};
  const std::string dir_ = tmp_.path();
};

TEST_F(KafkaConfigTest, LoadsAFullFile) {
  std::string path = Write(
      "kafka:\n"
      "  bootstrap: 127.0.0.1:19092\n"
      "  topic: amtsweg.applications\n"
      "  group: amtsweg\n"
      "  dead_letter_topic: my.dead-letters\n"
      "  audit_topic: my.audit\n"
      "  properties: { security.protocol: plaintext }\n"
      "  consumer: { fetch.min.bytes: 1 }\n"
      "  producer:\n"
      "    linger.ms: 5\n"
      "    enable.idempotence: true\n");
  Result<KafkaConfig> c = LoadKafkaConfig(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->bootstrap, "127.0.0.1:19092");
  EXPECT_EQ(c->topic, "amtsweg.applications");
  EXPECT_EQ(c->group, "amtsweg");
  EXPECT_EQ(c->dead_letter_topic, "my.dead-letters");
  EXPECT_EQ(c->audit_topic, "my.audit");
  EXPECT_EQ(c->properties, (KafkaProperties{{"security.protocol", "plaintext"}}));
  EXPECT_EQ(c->consumer_properties, (KafkaProperties{{"fetch.min.bytes", "1"}}));
  EXPECT_EQ(c->producer_properties,
            (KafkaProperties{{"linger.ms", "5"}, {"enable.idempotence", "true"}}));
}

TEST_F(KafkaConfigTest, DefaultsForOptionalTopics) {
  Result<KafkaConfig> c =
      LoadKafkaConfig(Write("kafka:\n  bootstrap: b:1\n  topic: t\n  group: g\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->dead_letter_topic, "amtsweg.dead-letters");
  EXPECT_EQ(c->audit_topic, "amtsweg.audit");
  EXPECT_TRUE(c->properties.empty());
}

TEST_F(KafkaConfigTest, UnknownKeyNamesLineAndColumn) {
  std::string path = Write(
      "kafka:\n"
      "  bootstrap: b:1\n"
      "  topic: t\n"
      "  group: g\n"
      "  colour: red\n");
  Result<KafkaConfig> c = LoadKafkaConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsInvalidArgument());
  EXPECT_NE(c.status().message().find(path + ":5:3: unknown key 'colour' in 'kafka'"),
            std::string::npos)
      << c.status().message();
}

TEST_F(KafkaConfigTest, MissingTopicIsReportedAtTheMapping) {
  std::string path = Write("kafka:\n  bootstrap: b:1\n  group: g\n");
  Result<KafkaConfig> c = LoadKafkaConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), path + ":1:1: missing 'topic' in 'kafka'");
}

TEST_F(KafkaConfigTest, EveryProblemIsListed) {
  std::string path = Write(
      "kafka:\n"
      "  topic: [a, b]\n"
      "  properties: [x]\n"
      "  consumer: { no.such.property: 1 }\n"
      "  audit_topic: 'not a topic'\n");
  Result<KafkaConfig> c = LoadKafkaConfig(path);
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  EXPECT_NE(m.find(path + ":2:10: 'topic' must be a string"), std::string::npos) << m;
  EXPECT_NE(m.find(path + ":3:15: 'properties' must be a mapping"), std::string::npos) << m;
  EXPECT_NE(m.find(path + ":4:15: property 'no.such.property' in 'consumer': No such "
                          "configuration property"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(path + ":5:16: 'audit_topic': 'not a topic' is not a valid topic name"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(path + ":1:1: missing 'bootstrap' in 'kafka'"), std::string::npos) << m;
  EXPECT_NE(m.find(path + ":1:1: missing 'group' in 'kafka'"), std::string::npos) << m;
}

TEST_F(KafkaConfigTest, YamlSyntaxErrorHasAPosition) {
  std::string path = Write("kafka:\n  topic: [unclosed\n");
  Result<KafkaConfig> c = LoadKafkaConfig(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().rfind(path + ":", 0), 0u) << c.status().message();
}

TEST_F(KafkaConfigTest, MissingFileIsAnIOError) {
  Result<KafkaConfig> c = LoadKafkaConfig(dir_ + "/none.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kIOError);
}

TEST(KafkaPropertiesTest, ApplyNamesThePropertyAndLibrdkafkasMessage) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  EXPECT_TRUE(ApplyKafkaProperties(conf, {{"linger.ms", "7"}}).ok());
  Status s = ApplyKafkaProperties(conf, {{"linger.ms", "not-a-number"}});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("Kafka property 'linger.ms' = 'not-a-number': "), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("Invalid value"), std::string::npos) << s.message();
  rd_kafka_conf_destroy(conf);
}

TEST(KafkaTopicNameTest, FollowsKafkasRules) {
  EXPECT_TRUE(IsValidTopicName("amtsweg.org.bauamt-01_x"));
  EXPECT_FALSE(IsValidTopicName(""));
  EXPECT_FALSE(IsValidTopicName("."));
  EXPECT_FALSE(IsValidTopicName(".."));
  EXPECT_FALSE(IsValidTopicName("org:bauamt"));
  EXPECT_FALSE(IsValidTopicName(std::string(250, 'a')));
  EXPECT_TRUE(IsValidTopicName(std::string(249, 'a')));
}

}  // namespace
}  // namespace amtsweg::connectors
