#include "connectors/kafka/kafka_config.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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

TEST_F(KafkaConfigTest, PartitionerAndGroupInstanceId) {
  Result<KafkaConfig> c = LoadKafkaConfig(
      Write("kafka:\n  bootstrap: b:1\n  topic: t\n  group: g\n  partitioner: crc32\n"
            "  group_instance_id: amtsweg-1\n"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->partitioner, KafkaPartitioner::kCrc32);
  EXPECT_EQ(c->group_instance_id, "amtsweg-1");
  Result<KafkaConfig> d =
      LoadKafkaConfig(Write("kafka:\n  bootstrap: b:1\n  topic: t\n  group: g\n"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->partitioner, KafkaPartitioner::kMurmur2);
  EXPECT_EQ(d->group_instance_id, "");

  std::string path = Write(
      "kafka:\n  bootstrap: b:1\n  topic: t\n  group: g\n  partitioner: java\n"
      "  group_instance_id:\n");
  Result<KafkaConfig> bad = LoadKafkaConfig(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path + ":5:16: 'partitioner' must be murmur2 (Java's "
                                               "default), crc32 (librdkafka's default"),
            std::string::npos)
      << bad.status().message();
  EXPECT_NE(bad.status().message().find(path + ":6:3: 'group_instance_id' must be a non-empty "
                                               "string"),
            std::string::npos)
      << bad.status().message();
}

TEST(KafkaPartitionerTest, NamesAndPartitionsAreLibrdkafkas) {
  for (KafkaPartitioner p :
       {KafkaPartitioner::kMurmur2, KafkaPartitioner::kCrc32, KafkaPartitioner::kFnv1a}) {
    EXPECT_EQ(ParsePartitioner(PartitionerName(p)), p);
  }
  EXPECT_FALSE(ParsePartitioner("consistent_random").has_value());
  EXPECT_EQ(LibrdkafkaPartitioner(KafkaPartitioner::kCrc32), "consistent_random");
  // crc32 is zlib's CRC-32 (IEEE): crc32("123456789") = 0xcbf43926, the standard check value.
  EXPECT_EQ(PartitionOf(KafkaPartitioner::kCrc32, "123456789", 1000),
            static_cast<int32_t>(0xcbf43926u % 1000u));
  // FNV-1a 32-bit of "a" is 0xe40c292c: negative as int32, so its absolute value is taken.
  EXPECT_EQ(
      PartitionOf(KafkaPartitioner::kFnv1a, "a", 1000),
      static_cast<int32_t>((-static_cast<int64_t>(static_cast<int32_t>(0xe40c292cu))) % 1000));
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

// The corpus that docs/kafka-config.schema.json is checked against as well
// (kafka_config_schema.py): the loader accepts exactly the documents in accepted/.
TEST(KafkaConfigCorpusTest, TheLoaderAgreesWithTheSchemasCorpus) {
  const std::string corpus = std::string(AMTSWEG_SOURCE_DIR) + "/tests/kafka_unit/config-corpus";
  size_t seen = 0;
  for (const char* dir : {"accepted", "refused"}) {
    for (const auto& entry : std::filesystem::directory_iterator(corpus + "/" + dir)) {
      ++seen;
      Result<KafkaConfig> c = LoadKafkaConfig(entry.path().string());
      if (std::string(dir) == "accepted") {
        EXPECT_TRUE(c.ok()) << entry.path() << ": " << c.status().ToString();
      } else {
        EXPECT_TRUE(c.status().IsInvalidArgument()) << entry.path() << " was accepted";
      }
    }
  }
  EXPECT_GE(seen, 15u);
}

// The examples in the docs load.
TEST_F(KafkaConfigTest, TheDocumentedExamplesLoad) {
  for (const char* doc : {"docs/operations.md", "connectors/kafka/README.md"}) {
    std::ifstream in(std::string(AMTSWEG_SOURCE_DIR) + "/" + doc);
    std::stringstream text;
    text << in.rdbuf();
    const std::string t = text.str();
    size_t examples = 0;
    for (size_t at = t.find("```yaml\nkafka:"); at != std::string::npos;
         at = t.find("```yaml\nkafka:", at + 1)) {
      size_t begin = at + 8;
      size_t end = t.find("```", begin);
      ASSERT_NE(end, std::string::npos) << doc;
      Result<KafkaConfig> c = LoadKafkaConfig(Write(t.substr(begin, end - begin)));
      EXPECT_TRUE(c.ok()) << doc << ": " << c.status().ToString();
      ++examples;
    }
    EXPECT_GE(examples, 1u) << doc << " has no ```yaml block starting with kafka:";
  }
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
