#include "mqtt/topics.h"

#include "gtest/gtest.h"

namespace fedge::mqtt {
namespace {

TEST(TopicsTest, LayoutAndParseAgree) {
  const TopicLayout topics("fedge");
  EXPECT_EQ(topics.Request("device-0", Rpc::kUpload), "fedge/device-0/req/upload");
  EXPECT_EQ(topics.Response("device-0"), "fedge/device-0/resp");
  EXPECT_EQ(topics.Announce(), "fedge/model/announce");
  EXPECT_EQ(topics.AllRequests(), "fedge/+/req/+");
  for (Rpc rpc : {Rpc::kRegister, Rpc::kPollTask, Rpc::kDownload, Rpc::kUpload, Rpc::kReport}) {
    absl::StatusOr<RequestTopic> parsed = topics.ParseRequest(topics.Request("d", rpc));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->device_id, "d");
    EXPECT_EQ(parsed->rpc, rpc);
  }
}

TEST(TopicsTest, MultiLevelPrefix) {
  const TopicLayout topics("site/a");
  absl::StatusOr<RequestTopic> parsed = topics.ParseRequest("site/a/dev/req/poll");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->device_id, "dev");
}

TEST(TopicsTest, RefusesTopicsNotOfTheLayout) {
  const TopicLayout topics("fedge");
  for (const char* topic : {"", "fedge", "fedge/", "fedgex/d/req/poll", "other/d/req/poll", "fedge/d/req",
                            "fedge/d/req/poll/extra", "fedge/d/resp", "fedge/d/req/unknown", "fedge//req/poll",
                            "fedge/model/req/poll", "fedge/$d/req/poll"}) {
    EXPECT_FALSE(topics.ParseRequest(topic).ok()) << topic;
  }
}

TEST(TopicsTest, ValidatesIdsAndPrefixes) {
  EXPECT_TRUE(ValidateDeviceId("device-0").ok());
  for (const std::string& id : {std::string(), std::string("a/b"), std::string("a+"), std::string("#"),
                                std::string("$SYS"), std::string("model"), std::string(129, 'x'),
                                std::string("a\0b", 3)}) {
    EXPECT_FALSE(ValidateDeviceId(id).ok()) << id;
  }
  EXPECT_TRUE(ValidateTopicPrefix("fedge").ok());
  EXPECT_TRUE(ValidateTopicPrefix("a/b").ok());
  for (const char* prefix : {"", "$SYS", "a//b", "a/", "+", "a/#"}) {
    EXPECT_FALSE(ValidateTopicPrefix(prefix).ok()) << prefix;
  }
}

}  // namespace
}  // namespace fedge::mqtt
