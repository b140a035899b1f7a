// The admin helper against librdkafka's mock cluster. The mock of librdkafka 2.0.2 has no
// CreateTopics handler, so creating topics for real is covered by the tests with a broker; here
// the unreachable-cluster path is.
#include "connectors/kafka/kafka_admin.h"

#include <gtest/gtest.h>

#include "tests/kafka_unit/mock_cluster.h"

namespace amtsweg::connectors {
namespace {

TEST(KafkaAdminTest, PartitionCountReadsTheMetadata) {
  testing::MockCluster cluster;
  cluster.CreateTopic("amtsweg.applications", 3);
  Result<int32_t> count = PartitionCount(cluster.bootstrap(), "amtsweg.applications");
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  EXPECT_EQ(*count, 3);
  // Asking does not create the topic.
  EXPECT_TRUE(PartitionCount(cluster.bootstrap(), "amtsweg.missing").status().IsNotFound());
  EXPECT_TRUE(PartitionCount(cluster.bootstrap(), "amtsweg.missing").status().IsNotFound());
  EXPECT_TRUE(PartitionCount(cluster.bootstrap(), "org:x").status().IsInvalidArgument());
}

TEST(KafkaAdminTest, UnreachableClusterIsUnavailableWithinTheTimeout) {
  // Port 1 on the loopback refuses connections.
  auto start = std::chrono::steady_clock::now();
  Status s = CreateTopics("127.0.0.1:1", {{"amtsweg.audit", 3, 1, {}}}, {},
                          std::chrono::milliseconds(500));
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  Result<int32_t> count =
      PartitionCount("127.0.0.1:1", "amtsweg.audit", {}, std::chrono::milliseconds(500));
  EXPECT_EQ(count.status().code(), Status::Code::kUnavailable) << count.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
  EXPECT_TRUE(CreateTopics("127.0.0.1:1", {}).ok());  // nothing to do
}

}  // namespace
}  // namespace amtsweg::connectors
