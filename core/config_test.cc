#include "core/config.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

ConfigFile MustParse(std::string_view text) {
  auto file = ConfigFile::Parse(text, "test.toml");
  EXPECT_TRUE(file.ok()) << file.status();
  return *std::move(file);
}

// Finish()'s message, one problem per line.
std::vector<std::string> Problems(const ConfigFile& file) {
  const absl::Status s = file.Finish();
  if (s.ok()) return {};
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return absl::StrSplit(s.message(), '\n');
}

TEST(ConfigTest, ReadsTypedValues) {
  ConfigFile file = MustParse(R"(
rounds = 50
learning_rate = 0.05
clients = 7
dp = true
partition = "dirichlet"
alphas = [0.1, 1, 10.5]
)");
  ConfigSection root = file.root();
  int64_t rounds = 0;
  double lr = 0;
  int clients = 0;
  bool dp = false;
  std::string partition;
  std::vector<double> alphas;
  root.Read("rounds", &rounds, 1, 1000);
  root.Read("learning_rate", &lr, 0.0, 1.0);
  root.Read("clients", &clients, 1, 100);
  root.Read("dp", &dp);
  root.Read("partition", &partition, {"iid", "dirichlet"});
  root.Read("alphas", &alphas);
  EXPECT_TRUE(file.Finish().ok()) << file.Finish();
  EXPECT_EQ(rounds, 50);
  EXPECT_DOUBLE_EQ(lr, 0.05);
  EXPECT_EQ(clients, 7);
  EXPECT_TRUE(dp);
  EXPECT_EQ(partition, "dirichlet");
  EXPECT_EQ(alphas, (std::vector<double>{0.1, 1.0, 10.5}));
  EXPECT_TRUE(root.Has("rounds"));
  EXPECT_FALSE(root.Has("missing"));
}

TEST(ConfigTest, AbsentKeysKeepDefaults) {
  ConfigFile file = MustParse("");
  ConfigSection root = file.root();
  int rounds = 3;
  double lr = 0.5;
  std::string name = "default";
  root.Read("rounds", &rounds, 1, 10);
  root.Read("lr", &lr, 0.0, 1.0);
  root.Read("name", &name);
  ConfigSection absent = root.Section("data");
  int shards = 9;
  absent.Read("shards", &shards, 1, 100);
  EXPECT_TRUE(root.Sections("clients").empty());
  EXPECT_TRUE(file.Finish().ok()) << file.Finish();
  EXPECT_EQ(rounds, 3);
  EXPECT_EQ(lr, 0.5);
  EXPECT_EQ(name, "default");
  EXPECT_EQ(shards, 9);
}

TEST(ConfigTest, IntegersReadAsDoubles) {
  ConfigFile file = MustParse("lr = 1");
  double lr = 0;
  file.root().Read("lr", &lr, 0.0, 2.0);
  EXPECT_TRUE(file.Finish().ok()) << file.Finish();
  EXPECT_EQ(lr, 1.0);
}

TEST(ConfigTest, ReportsTypeAndRangeErrorsWithKeyPaths) {
  ConfigFile file = MustParse(R"(
rounds = 0
lr = "fast"
clients = 1.5
partition = "random"
alphas = [1, "x"]
[data]
shards = 1000
)");
  ConfigSection root = file.root();
  int rounds = 5, clients = 2, shards = 4;
  double lr = 0.1;
  std::string partition = "iid";
  std::vector<double> alphas = {7};
  root.Read("rounds", &rounds, 1, 100);
  root.Read("lr", &lr, 0.0, 1.0);
  root.Read("clients", &clients, 1, 100);
  root.Read("partition", &partition, {"iid", "dirichlet"});
  root.Read("alphas", &alphas);
  root.Section("data").Read("shards", &shards, 1, 100);
  const std::vector<std::string> problems = Problems(file);
  ASSERT_EQ(problems.size(), 6u) << file.Finish();
  EXPECT_TRUE(absl::StrContains(problems[0], "'rounds' = 0 is outside the allowed range [1, 100]")) << problems[0];
  EXPECT_TRUE(absl::StrContains(problems[1], "'lr' must be a number")) << problems[1];
  EXPECT_TRUE(absl::StrContains(problems[2], "'clients' must be an integer")) << problems[2];
  EXPECT_TRUE(absl::StrContains(problems[3], "is not one of: iid, dirichlet")) << problems[3];
  EXPECT_TRUE(absl::StrContains(problems[4], "'alphas' must be an array of numbers")) << problems[4];
  EXPECT_TRUE(absl::StrContains(problems[5], "'data.shards'")) << problems[5];
  for (const std::string& p : problems) EXPECT_TRUE(absl::StartsWith(p, "test.toml: ")) << p;
  // Failed reads leave the outputs untouched.
  EXPECT_EQ(rounds, 5);
  EXPECT_EQ(lr, 0.1);
  EXPECT_EQ(clients, 2);
  EXPECT_EQ(partition, "iid");
  EXPECT_EQ(alphas, (std::vector<double>{7}));
  EXPECT_EQ(shards, 4);
}

TEST(ConfigTest, BoolRejectsOtherTypes) {
  // toml++'s value<bool>() converts integers; a config must not read
  // `dp = 1` (or `dp = 5`) as true, nor a string as a bool.
  ConfigFile file = MustParse("dp = 1\nsecure = \"yes\"\n");
  ConfigSection root = file.root();
  bool dp = false, secure = false;
  root.Read("dp", &dp);
  root.Read("secure", &secure);
  const std::vector<std::string> problems = Problems(file);
  ASSERT_EQ(problems.size(), 2u) << file.Finish();
  EXPECT_TRUE(absl::StrContains(problems[0], "'dp' must be true or false")) << problems[0];
  EXPECT_TRUE(absl::StrContains(problems[1], "'secure' must be true or false")) << problems[1];
  EXPECT_FALSE(dp);
  EXPECT_FALSE(secure);
}

TEST(ConfigTest, RangeCheckRejectsNanAndInfinity) {
  // TOML has literals for both; a range must keep them out.
  ConfigFile file = MustParse("lr = nan\nmomentum = inf\n");
  ConfigSection root = file.root();
  double lr = 0.1, momentum = 0.9;
  root.Read("lr", &lr, 0.0, 1.0);
  root.Read("momentum", &momentum, 0.0, 1.0);
  EXPECT_EQ(Problems(file).size(), 2u) << file.Finish();
  EXPECT_EQ(lr, 0.1);
  EXPECT_EQ(momentum, 0.9);
}

TEST(ConfigTest, IntRangeIsCheckedBeforeNarrowing) {
  ConfigFile file = MustParse("clients = 4294967297");  // 2^32 + 1 would narrow to 1
  int clients = 2;
  file.root().Read("clients", &clients, 1, 100);
  EXPECT_EQ(Problems(file).size(), 1u);
  EXPECT_EQ(clients, 2);
}

TEST(ConfigTest, NestedSectionsAndArraysOfTables) {
  ConfigFile file = MustParse(R"(
[data]
partition = "iid"
[data.augment]
flip = true

[[clients]]
name = "phone"
speed = 1.0
[[clients]]
name = "watch"
speed = 0.25
)");
  ConfigSection root = file.root();
  ConfigSection data = root.Section("data");
  EXPECT_EQ(data.path(), "data");
  std::string partition;
  data.Read("partition", &partition);
  bool flip = false;
  ConfigSection augment = data.Section("augment");
  EXPECT_EQ(augment.path(), "data.augment");
  augment.Read("flip", &flip);
  std::vector<ConfigSection> clients = root.Sections("clients");
  ASSERT_EQ(clients.size(), 2u);
  EXPECT_EQ(clients[1].path(), "clients[1]");
  std::vector<std::string> names;
  std::vector<double> speeds;
  for (ConfigSection& c : clients) {
    std::string name;
    double speed = 0;
    c.Read("name", &name);
    c.Read("speed", &speed, 0.0, 10.0);
    names.push_back(name);
    speeds.push_back(speed);
  }
  EXPECT_TRUE(file.Finish().ok()) << file.Finish();
  EXPECT_EQ(partition, "iid");
  EXPECT_TRUE(flip);
  EXPECT_EQ(names, (std::vector<std::string>{"phone", "watch"}));
  EXPECT_EQ(speeds, (std::vector<double>{1.0, 0.25}));
}

TEST(ConfigTest, FinishReportsUnknownKeysWithFullPath) {
  ConfigFile file = MustParse(R"(
rounds = 5
roudns = 6
[data]
partition = "iid"
partiton = "iid"
[unread_table]
x = 1
[[clients]]
name = "a"
nmae = "b"
)");
  ConfigSection root = file.root();
  int rounds = 0;
  root.Read("rounds", &rounds, 1, 10);
  std::string s;
  root.Section("data").Read("partition", &s);
  for (ConfigSection& c : root.Sections("clients")) c.Read("name", &s);
  std::vector<std::string> problems = Problems(file);
  std::sort(problems.begin(), problems.end());
  ASSERT_EQ(problems.size(), 4u) << file.Finish();
  EXPECT_TRUE(absl::StrContains(problems[0], "unknown key 'clients[0].nmae'")) << problems[0];
  EXPECT_TRUE(absl::StrContains(problems[1], "unknown key 'data.partiton'")) << problems[1];
  EXPECT_TRUE(absl::StrContains(problems[2], "unknown key 'roudns'")) << problems[2];
  EXPECT_TRUE(absl::StrContains(problems[3], "unknown key 'unread_table'")) << problems[3];
}

TEST(ConfigTest, KeyReadThroughAnyViewCountsAsKnown) {
  ConfigFile file = MustParse("[data]\na = 1\nb = 2\n");
  int a = 0, b = 0;
  file.root().Section("data").Read("a", &a, 0, 9);
  file.root().Section("data").Read("b", &b, 0, 9);
  EXPECT_TRUE(file.Finish().ok()) << file.Finish();
  EXPECT_EQ(a + b, 3);
}

TEST(ConfigTest, SectionOfWrongTypeIsReported) {
  ConfigFile file = MustParse("data = 3\nclients = 4\n");
  ConfigSection root = file.root();
  ConfigSection data = root.Section("data");
  EXPECT_FALSE(data.Has("anything"));
  EXPECT_TRUE(root.Sections("clients").empty());
  const std::vector<std::string> problems = Problems(file);
  ASSERT_EQ(problems.size(), 2u) << file.Finish();
  EXPECT_TRUE(absl::StrContains(problems[0], "'data' must be a table")) << problems[0];
  EXPECT_TRUE(absl::StrContains(problems[1], "'clients' must be an array of tables")) << problems[1];
}

TEST(ConfigTest, CustomErrorsNameTheSection) {
  ConfigFile file = MustParse("[data]\nx = 1\n");
  ConfigSection data = file.root().Section("data");
  int x = 0;
  data.Read("x", &x, 0, 9);
  data.Error("x must be even");
  const std::vector<std::string> problems = Problems(file);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0], "test.toml: data: x must be even");
}

TEST(ConfigTest, SyntaxErrorsCarryLineAndColumn) {
  auto file = ConfigFile::Parse("a = 1\nb = = 2\n", "bad.toml");
  EXPECT_EQ(file.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(file.status().message(), "bad.toml:2:")) << file.status();
  EXPECT_TRUE(absl::StrContains(file.status().message(), "syntax error")) << file.status();
}

TEST(ConfigTest, LoadOfMissingFileIsNotFound) {
  EXPECT_EQ(ConfigFile::Load("/nonexistent/fedge/config.toml").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace fedge
