#include "coordinator/round_report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

proto::RoundRecord Record(uint64_t round, bool ok) {
  proto::RoundRecord r;
  r.set_round(round);
  r.set_succeeded(ok);
  if (!ok) r.set_failure("quorum not reached, \"1\" of 2");
  r.set_selected(7);
  r.set_accepted(5);
  r.set_rejected(1);
  r.set_late(1);
  r.set_model_version(round + 1);
  r.set_started_unix_micros(1'000'000);
  r.set_closed_unix_micros(13'300'000);
  r.set_bytes_down(3 << 20);
  r.set_bytes_up(2048);
  return r;
}

TEST(RoundReportTest, LogLineNamesCountsMetricsDurationAndBytes) {
  proto::RoundRecord r = Record(3, true);
  (*r.mutable_metrics())["test_accuracy"] = 0.8125;
  const std::string line = FormatRoundRecord(r);
  EXPECT_THAT(line, HasSubstr("round 3 succeeded: 5 accepted of 7 selected, 1 rejected, 1 late; model v4"));
  EXPECT_THAT(line, HasSubstr("test_accuracy=0.8125"));
  EXPECT_THAT(line, HasSubstr("12.30 s"));
  EXPECT_THAT(line, HasSubstr("down 3.0 MB, up 2.0 KB"));
  EXPECT_THAT(line, Not(HasSubstr("deployed")));
  EXPECT_THAT(FormatRoundRecord(Record(4, false)), HasSubstr("round 4 failed (quorum not reached"));
  r.set_deployed_model_version(2);
  EXPECT_THAT(FormatRoundRecord(r), HasSubstr("; model v4, deployed v2;"));
}

TEST(RoundReportTest, CsvHasFixedColumnsThenTheUnionOfMetrics) {
  proto::RoundRecord a = Record(1, true);
  (*a.mutable_metrics())["test_loss"] = 0.5;
  proto::RoundRecord b = Record(2, false);
  (*b.mutable_metrics())["test_accuracy"] = 0.25;
  b.set_deployed_model_version(1);
  const std::string csv = RoundsToCsv({a, b});
  EXPECT_EQ(csv,
            "round,succeeded,failure,selected,accepted,rejected,late,model_version,started_unix_micros,"
            "closed_unix_micros,duration_s,bytes_down,bytes_up,drift_alarms,deployed_model_version,test_accuracy,test_loss\n"
            "1,1,,7,5,1,1,2,1000000,13300000,12.300,3145728,2048,0,0,,0.5\n"
            "2,0,\"quorum not reached, \"\"1\"\" of 2\",7,5,1,1,3,1000000,13300000,12.300,3145728,2048,0,1,0.25,\n");
}

}  // namespace
}  // namespace fedge
