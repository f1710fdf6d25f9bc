#include "metrics/http_endpoint.h"

#include <httplib.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsEndpointTest, ServesTheRegistryOnMetricsOnly) {
  Registry registry;
  Counter& scrapes = registry.AddCounter("fedge_test_scrapes_total", "Scrapes seen.").Get();
  registry.AddScrapeHook([&] { scrapes.Increment(); });
  auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", &registry);
  ASSERT_TRUE(endpoint.ok()) << endpoint.status();
  ASSERT_GT((*endpoint)->port(), 0);

  httplib::Client client("127.0.0.1", (*endpoint)->port());
  httplib::Result first = client.Get("/metrics");
  ASSERT_TRUE(first) << httplib::to_string(first.error());
  EXPECT_EQ(first->status, 200);
  EXPECT_THAT(first->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  EXPECT_THAT(first->body, HasSubstr("fedge_test_scrapes_total 1\n"));
  EXPECT_THAT(client.Get("/metrics")->body, HasSubstr("fedge_test_scrapes_total 2\n"));
  EXPECT_EQ(client.Get("/")->status, 404);
  EXPECT_EQ(client.Post("/metrics", "x", "text/plain")->status, 404);
}

TEST(MetricsEndpointTest, RefusesBadAddressesAndBusyPorts) {
  Registry registry;
  for (const char* bad : {"", "9464", ":9464", "localhost:http", "127.0.0.1:70000", "127.0.0.1:-1"}) {
    EXPECT_EQ(MetricsEndpoint::Start(bad, &registry).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  auto first = MetricsEndpoint::Start("127.0.0.1:0", &registry);
  ASSERT_TRUE(first.ok());
  const std::string taken = "127.0.0.1:" + std::to_string((*first)->port());
  EXPECT_EQ(MetricsEndpoint::Start(taken, &registry).status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace fedge::metrics
