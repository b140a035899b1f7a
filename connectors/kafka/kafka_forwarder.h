// Forwards the organisations' ingress topics into the engine's input topic, stamping each message
// with the organisation its topic belongs to.
//
// On a shared input topic, the `participant` of an input is only a claim. With ingress topics,
// every organisation writes to a topic of its own, `<ingress_prefix><organisation id>` (e.g.
// "amtsweg.in.ihk-kiel"). A Kafka ACL lets only that organisation's principal write there (see
// docs/operations.md). The forwarder, running as amtsweg's principal, copies each message to the
// input topic unchanged: key, value and headers. It adds two headers that name the channel:
// kChannelOrganisationHeader (the organisation id) and kChannelHeader ("topic <ingress topic>").
// Headers of those names that a producer set itself are removed first, so nobody can forge them
// on the way through. A source configured to trust these headers (`trust_channel_headers`)
// passes them to the engine as RawInput::channel_organisation and RawInput::channel. The engine
// then refuses an input whose `participant` claims another organisation (kind `impersonation`).
// The headers can be trusted only where nobody but amtsweg's principal may write to the input
// topic: portals then submit through an ingress topic of their own too.
//
// Delivery is at least once: each batch is produced, flushed, and only then are its ingress
// offsets committed (synchronously). After a crash a message may be forwarded twice, with the
// same CloudEvents source and id, and the engine drops the second as a duplicate.
//
// Thread-compatible: one thread runs it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "connectors/kafka/kafka_config.h"
#include "engine/common/status.h"

namespace amtsweg::connectors {

inline constexpr char kChannelOrganisationHeader[] = "amtsweg-channel-organisation";
inline constexpr char kChannelHeader[] = "amtsweg-channel";

struct ForwarderConfig {
  std::string bootstrap;
  std::string topic;                           // the engine's input topic
  std::string ingress_prefix = "amtsweg.in.";  // ingress topic of organisation X: prefix + X
  std::string group = "amtsweg-forwarder";     // the consumer group of the ingress topics
  KafkaProperties properties;                  // to consumer and producer (TLS, SASL, ...)
};

struct ForwardStats {
  uint64_t forwarded = 0;
  uint64_t forged_headers = 0;  // channel headers set by a producer, removed
};

class KafkaForwarder {
 public:
  // InvalidArgument when the input topic or the prefix is not a topic name, or when the input
  // topic would itself be an ingress topic.
  static Result<std::unique_ptr<KafkaForwarder>> Open(const ForwarderConfig& config);
  ~KafkaForwarder();
  KafkaForwarder(const KafkaForwarder&) = delete;
  KafkaForwarder& operator=(const KafkaForwarder&) = delete;

  // Forwards until `stop` returns true (it is called between polls), or with `until_idle`, until
  // the group was assigned its partitions and each one is read to its end and forwarded. Errors:
  // refused credentials, a message the input topic did not take, a commit that failed.
  Status Run(const std::function<bool()>& stop, bool until_idle);

  const ForwardStats& stats() const;

 private:
  struct Impl;
  explicit KafkaForwarder(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amtsweg::connectors
