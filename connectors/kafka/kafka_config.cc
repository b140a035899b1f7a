#include "connectors/kafka/kafka_config.h"

#include <librdkafka/rdkafka.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>

namespace amtsweg::connectors {
namespace {

// Collects "file:line:column: message" diagnostics.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void Add(const YAML::Mark& mark, const std::string& message) {
    if (!text_.empty()) text_ += '\n';
    text_ += file_ + ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1) +
             ": " + message;
  }
  bool empty() const { return text_.empty(); }
  const std::string& text() const { return text_; }

 private:
  std::string file_;
  std::string text_;
};

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};

// yaml-cpp marks an empty value at the next token; the key's mark is the better place.
YAML::Mark MarkOf(const YAML::Node& value, const YAML::Mark& key_mark) {
  if (!value.IsDefined() || value.IsNull()) return key_mark;
  return value.Mark();
}

bool ReadTopic(const YAML::Node& value, const YAML::Mark& key_mark, const std::string& key,
               Diagnostics* diag, std::string* out) {
  if (!value.IsScalar()) {
    diag->Add(MarkOf(value, key_mark), "'" + key + "' must be a string");
    return false;
  }
  if (!IsValidTopicName(value.Scalar())) {
    diag->Add(value.Mark(),
              "'" + key + "': '" + value.Scalar() +
                  "' is not a valid topic name (1-249 characters of a-z A-Z 0-9 . _ -)");
    return false;
  }
  *out = value.Scalar();
  return true;
}

// A mapping of librdkafka properties; each name is checked by setting it on a scratch conf.
void ReadProperties(const YAML::Node& value, const YAML::Mark& key_mark, const std::string& key,
                    Diagnostics* diag, KafkaProperties* out) {
  if (value.IsNull()) return;  // "consumer:" with nothing after it
  if (!value.IsMap()) {
    diag->Add(MarkOf(value, key_mark), "'" + key + "' must be a mapping of librdkafka properties");
    return;
  }
  std::unique_ptr<rd_kafka_conf_t, ConfDeleter> scratch(rd_kafka_conf_new());
  for (auto it = value.begin(); it != value.end(); ++it) {
    YAML::Node k = it->first;
    YAML::Node v = it->second;
    if (!k.IsScalar()) {
      diag->Add(k.Mark(), "property names in '" + key + "' must be plain names");
      continue;
    }
    if (!v.IsScalar()) {
      diag->Add(MarkOf(v, k.Mark()),
                "property '" + k.Scalar() + "' in '" + key + "' must have a scalar value");
      continue;
    }
    char errstr[512];
    if (rd_kafka_conf_set(scratch.get(), k.Scalar().c_str(), v.Scalar().c_str(), errstr,
                          sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      diag->Add(k.Mark(), "property '" + k.Scalar() + "' in '" + key + "': " + errstr);
      continue;
    }
    out->emplace_back(k.Scalar(), v.Scalar());
  }
}

void ParseConfig(const YAML::Node& root, Diagnostics* diag, KafkaConfig* config) {
  YAML::Mark top_mark;
  if (!root.IsMap()) {
    diag->Add(root.IsDefined() && !root.IsNull() ? root.Mark() : top_mark,
              "the file must be a mapping with the key 'kafka'");
    return;
  }
  YAML::Node kafka;
  YAML::Mark kafka_mark = root.Mark();
  for (auto it = root.begin(); it != root.end(); ++it) {
    YAML::Node k = it->first;
    if (k.IsScalar() && k.Scalar() == "kafka") {
      kafka = it->second;
      kafka_mark = k.Mark();
    } else {
      diag->Add(k.Mark(), "unknown key '" + (k.IsScalar() ? k.Scalar() : std::string("?")) +
                              "' at the top level; allowed: kafka");
    }
  }
  if (!kafka.IsDefined()) {
    diag->Add(root.Mark(), "missing 'kafka'");
    return;
  }
  if (!kafka.IsMap()) {
    diag->Add(MarkOf(kafka, kafka_mark), "'kafka' must be a mapping");
    return;
  }
  bool has_bootstrap = false, has_topic = false, has_group = false;
  std::vector<std::string> seen;
  for (auto it = kafka.begin(); it != kafka.end(); ++it) {
    YAML::Node k = it->first;
    YAML::Node v = it->second;
    if (!k.IsScalar()) {
      diag->Add(k.Mark(), "keys of 'kafka' must be plain names");
      continue;
    }
    const std::string& key = k.Scalar();
    bool duplicate = false;
    for (const std::string& s : seen)
      duplicate = duplicate || s == key;
    if (duplicate) {
      diag->Add(k.Mark(), "duplicate key '" + key + "' in 'kafka'");
      continue;
    }
    seen.push_back(key);
    if (key == "bootstrap" || key == "group") {
      if (!v.IsScalar() || v.Scalar().empty()) {
        diag->Add(MarkOf(v, k.Mark()), "'" + key + "' must be a non-empty string");
        continue;
      }
      (key == "bootstrap" ? config->bootstrap : config->group) = v.Scalar();
      (key == "bootstrap" ? has_bootstrap : has_group) = true;
    } else if (key == "topic") {
      has_topic = true;  // a bad value is reported by ReadTopic, not as missing
      (void)ReadTopic(v, k.Mark(), key, diag, &config->topic);
    } else if (key == "dead_letter_topic") {
      (void)ReadTopic(v, k.Mark(), key, diag, &config->dead_letter_topic);
    } else if (key == "audit_topic") {
      (void)ReadTopic(v, k.Mark(), key, diag, &config->audit_topic);
    } else if (key == "trust_channel_headers") {
      // YAML 1.2's booleans (core schema), as docs/kafka-config.schema.json reads them.
      const std::string b = v.IsScalar() ? v.Scalar() : "";
      const bool yes = b == "true" || b == "True" || b == "TRUE";
      const bool no = b == "false" || b == "False" || b == "FALSE";
      if (!v.IsScalar() || v.Tag() == "!" || (!yes && !no)) {
        diag->Add(MarkOf(v, k.Mark()), "'trust_channel_headers' must be true or false");
        continue;
      }
      config->trust_channel_headers = yes;
    } else if (key == "partitioner") {
      std::optional<KafkaPartitioner> p;
      if (v.IsScalar()) p = ParsePartitioner(v.Scalar());
      if (!p.has_value()) {
        diag->Add(MarkOf(v, k.Mark()),
                  "'partitioner' must be murmur2 (Java's default), crc32 (librdkafka's default: "
                  "kcat, confluent-kafka) or fnv1a");
        continue;
      }
      config->partitioner = *p;
    } else if (key == "group_instance_id") {
      if (!v.IsScalar() || v.Scalar().empty()) {
        diag->Add(MarkOf(v, k.Mark()), "'group_instance_id' must be a non-empty string");
        continue;
      }
      config->group_instance_id = v.Scalar();
    } else if (key == "properties") {
      ReadProperties(v, k.Mark(), key, diag, &config->properties);
    } else if (key == "consumer") {
      ReadProperties(v, k.Mark(), key, diag, &config->consumer_properties);
    } else if (key == "producer") {
      ReadProperties(v, k.Mark(), key, diag, &config->producer_properties);
    } else {
      diag->Add(k.Mark(), "unknown key '" + key +
                              "' in 'kafka'; allowed: bootstrap, topic, group, "
                              "dead_letter_topic, audit_topic, trust_channel_headers, partitioner, "
                              "group_instance_id, properties, consumer, producer");
    }
  }
  if (!has_bootstrap) diag->Add(kafka_mark, "missing 'bootstrap' in 'kafka'");
  if (!has_topic) diag->Add(kafka_mark, "missing 'topic' in 'kafka'");
  if (!has_group) diag->Add(kafka_mark, "missing 'group' in 'kafka'");
}

}  // namespace

std::string_view PartitionerName(KafkaPartitioner partitioner) {
  switch (partitioner) {
    case KafkaPartitioner::kCrc32:
      return "crc32";
    case KafkaPartitioner::kFnv1a:
      return "fnv1a";
    case KafkaPartitioner::kMurmur2:
      break;
  }
  return "murmur2";
}

std::optional<KafkaPartitioner> ParsePartitioner(std::string_view name) {
  for (KafkaPartitioner p :
       {KafkaPartitioner::kMurmur2, KafkaPartitioner::kCrc32, KafkaPartitioner::kFnv1a}) {
    if (name == PartitionerName(p)) return p;
  }
  return std::nullopt;
}

std::string_view LibrdkafkaPartitioner(KafkaPartitioner partitioner) {
  switch (partitioner) {
    case KafkaPartitioner::kCrc32:
      return "consistent_random";
    case KafkaPartitioner::kFnv1a:
      return "fnv1a_random";
    case KafkaPartitioner::kMurmur2:
      break;
  }
  return "murmur2_random";
}

int32_t PartitionOf(KafkaPartitioner partitioner, std::string_view key, int32_t partition_count) {
  // librdkafka's deterministic partitioners (those without "_random", which would need a topic
  // handle for an empty key) use neither the topic handle nor the opaques.
  switch (partitioner) {
    case KafkaPartitioner::kCrc32:
      return rd_kafka_msg_partitioner_consistent(nullptr, key.data(), key.size(), partition_count,
                                                 nullptr, nullptr);
    case KafkaPartitioner::kFnv1a:
      return rd_kafka_msg_partitioner_fnv1a(nullptr, key.data(), key.size(), partition_count,
                                            nullptr, nullptr);
    case KafkaPartitioner::kMurmur2:
      break;
  }
  return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), partition_count, nullptr,
                                          nullptr);
}

bool IsValidTopicName(const std::string& name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<KafkaConfig> LoadKafkaConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status::IOError("cannot read Kafka config '" + path + "': " + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError("cannot read Kafka config '" + path + "'");

  Diagnostics diag(path);
  KafkaConfig config;
  try {
    YAML::Node root = YAML::Load(text.str());
    ParseConfig(root, &diag, &config);
  } catch (const YAML::Exception& e) {
    diag.Add(e.mark, e.msg);
  }
  if (!diag.empty()) return Status::InvalidArgument(diag.text());
  return config;
}

Status ApplyKafkaProperties(rd_kafka_conf_t* conf, const KafkaProperties& properties) {
  for (const auto& [name, value] : properties) {
    char errstr[512];
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      std::string msg = "Kafka property '";
      msg.append(name).append("' = '").append(value).append("': ").append(errstr);
      return Status::InvalidArgument(std::move(msg));
    }
  }
  return Status::OK();
}

}  // namespace amtsweg::connectors
