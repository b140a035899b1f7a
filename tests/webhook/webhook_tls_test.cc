// Webhooks over TLS, with certificates the test makes with the openssl command line
// (tests/testing/pki.h): a CA, the receiver's certificate for 127.0.0.1, and amtsweg's client
// certificate. The receiver is cpp-httplib's SSLServer on 127.0.0.1 (receiver.h); with a client
// CA it requires a client certificate signed by it (mutual TLS).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "connectors/webhook/webhook_sink.h"
#include "engine/core/cloudevent.h"
#include "tests/testing/pki.h"
#include "tests/testing/seed.h"
#include "tests/webhook/receiver.h"

namespace amtsweg::connectors {
namespace {

using testing::Pki;
using testing::Receiver;

constexpr char kSecret[] = "test-secret-0123";

core::OutboundMessage Entry(uint64_t seq) {
  core::OutboundMessage e;
  e.seq = seq;
  e.destination = "webhook:org-0";
  e.key = "GA-1";
  e.id = "GA-1/" + std::to_string(seq);
  e.payload = core::EncodeCloudEventJson(e.id, "amtsweg", "de.amtsweg.task.requested", "GA-1",
                                         1767225600000, R"({"organisation":"org-0"})");
  return e;
}

WebhookOptions Options(const Receiver& receiver) {
  WebhookOptions o;
  o.endpoints["webhook:org-0"] = {receiver.Url("/hook/org-0"), kSecret};
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.read_timeout = std::chrono::milliseconds(2000);
  o.initial_backoff = std::chrono::milliseconds(1);
  o.max_backoff = std::chrono::milliseconds(20);
  o.seed = testing::TestSeed();
  return o;
}

// Acknowledgements until `n` arrived or `within` passed.
std::vector<uint64_t> CollectAcks(core::Sink& sink, size_t n, std::chrono::milliseconds within) {
  std::vector<uint64_t> acks;
  auto deadline = std::chrono::steady_clock::now() + within;
  while (acks.size() < n && std::chrono::steady_clock::now() < deadline)
    EXPECT_TRUE(sink.Acknowledged(std::chrono::milliseconds(50), &acks).ok());
  return acks;
}

// Attempts until `n` failed, or `within` passed.
void AwaitFailures(const WebhookSink& sink, uint64_t n, std::chrono::seconds within) {
  auto deadline = std::chrono::steady_clock::now() + within;
  while (sink.stats().failed < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
}

class WebhookTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(pki_.MakeCa("server"), "");
    ASSERT_EQ(pki_.MakeCertificate("receiver", "server"), "");
    ASSERT_EQ(pki_.MakeCa("clients"), "");
    ASSERT_EQ(pki_.MakeCertificate("amtsweg", "clients"), "");
    ASSERT_EQ(pki_.MakeCa("other"), "");
  }
  Pki pki_;
};

TEST_F(WebhookTlsTest, DeliversOverHttpsToAReceiverItsCaVouchesFor) {
  Receiver::Tls tls{pki_.Path("receiver.pem"), pki_.Path("receiver.key"), ""};
  Receiver receiver(kSecret, &tls);
  ASSERT_TRUE(receiver.valid());
  ASSERT_TRUE(receiver.Start());
  WebhookOptions options = Options(receiver);
  options.ca_file = pki_.Path("server.ca.pem");
  auto sink = WebhookSink::Open(options);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  ASSERT_TRUE((*sink)->Send({Entry(1)}).ok());
  EXPECT_EQ(CollectAcks(**sink, 1, std::chrono::seconds(30)), std::vector<uint64_t>{1});
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_TRUE(receiver.requests()[0].signature_ok);
}

TEST_F(WebhookTlsTest, AReceiverWhoseCertificateNoTrustedCaSignedGetsNothing) {
  Receiver::Tls tls{pki_.Path("receiver.pem"), pki_.Path("receiver.key"), ""};
  Receiver receiver(kSecret, &tls);
  ASSERT_TRUE(receiver.Start());
  WebhookOptions options = Options(receiver);
  options.ca_file = pki_.Path("other.ca.pem");
  auto sink = WebhookSink::Open(options);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  ASSERT_TRUE((*sink)->Send({Entry(1)}).ok());
  AwaitFailures(**sink, 3, std::chrono::seconds(30));
  EXPECT_GE((*sink)->stats().failed, 3u);
  EXPECT_EQ((*sink)->stats().delivered, 0u);
  EXPECT_TRUE(receiver.requests().empty());
}

TEST_F(WebhookTlsTest, AReceiverThatAsksForAClientCertificateGetsOnlyAmtswegs) {
  Receiver::Tls tls{pki_.Path("receiver.pem"), pki_.Path("receiver.key"),
                    pki_.Path("clients.ca.pem")};
  Receiver receiver(kSecret, &tls);
  ASSERT_TRUE(receiver.valid());
  ASSERT_TRUE(receiver.Start());
  {
    // Without a client certificate the handshake fails: nothing arrives.
    WebhookOptions options = Options(receiver);
    options.ca_file = pki_.Path("server.ca.pem");
    auto sink = WebhookSink::Open(options);
    ASSERT_TRUE(sink.ok()) << sink.status().ToString();
    ASSERT_TRUE((*sink)->Send({Entry(1)}).ok());
    AwaitFailures(**sink, 3, std::chrono::seconds(30));
    EXPECT_GE((*sink)->stats().failed, 3u);
    EXPECT_TRUE(receiver.requests().empty());
  }
  WebhookOptions options = Options(receiver);
  options.ca_file = pki_.Path("server.ca.pem");
  options.client_cert_file = pki_.Path("amtsweg.pem");
  options.client_key_file = pki_.Path("amtsweg.key");
  auto sink = WebhookSink::Open(options);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  ASSERT_TRUE((*sink)->Send({Entry(2)}).ok());
  EXPECT_EQ(CollectAcks(**sink, 1, std::chrono::seconds(30)), std::vector<uint64_t>{2});
  ASSERT_EQ(receiver.requests().size(), 1u);
  EXPECT_EQ(receiver.requests()[0].id, "GA-1/2");
}

TEST_F(WebhookTlsTest, AClientCertificateThatDoesNotLoadIsRefusedAtOpen) {
  Receiver receiver(kSecret);
  WebhookOptions options = Options(receiver);
  options.client_cert_file = pki_.Path("amtsweg.pem");
  auto half = WebhookSink::Open(options);
  ASSERT_FALSE(half.ok());
  EXPECT_NE(half.status().message().find("both"), std::string::npos) << half.status().message();

  options.client_key_file = pki_.Path("receiver.key");  // another certificate's key
  auto mismatch = WebhookSink::Open(options);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("does not belong"), std::string::npos)
      << mismatch.status().message();

  options.client_cert_file = pki_.Path("missing.pem");
  auto missing = WebhookSink::Open(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing.pem"), std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace amtsweg::connectors
