// Hand-computed two-round examples for the server optimizers (FedAdam,
// FedYogi, FedAdagrad, FedAvgM) and their state export/import.
#include <vector>

#include "aggregation/fedadagrad.h"
#include "aggregation/fedadam.h"
#include "aggregation/fedavgm.h"
#include "aggregation/fedyogi.h"
#include "aggregation/testing/strategy_runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace fedge {
namespace {

using ::fedge::testing::CannedRound;
using ::fedge::testing::StrategyRunner;
using ::testing::ElementsAre;
using ::testing::FloatNear;

constexpr float kTol = 2e-6f;

// Two rounds whose weighted means are Delta_1 = [1, -2] and
// Delta_2 = [0.1, 1]:  (1*[2,-4] + 1*[0,0]) / 2  and  (1*[0.3,1] + 2*[0,1]) / 3.
std::vector<CannedRound> TwoRounds() {
  return {{{.values = {2, -4}, .weight = 1}, {.values = {0, 0}, .weight = 1}},
          {{.values = {0.3f, 1}, .weight = 1}, {.values = {0, 1}, .weight = 2}}};
}

// eta = 0.1, beta1 = 0.9, beta2 = 0.99, tau = 0.1, so v_{-1} = tau^2 = 0.01.
// For every optimizer m_1 = 0.1 * Delta_1 = [0.1, -0.2] and
// m_2 = 0.9 * m_1 + 0.1 * Delta_2 = [0.1, -0.08].
constexpr FedOptOptions kOptions{.server_learning_rate = 0.1, .beta1 = 0.9, .beta2 = 0.99, .tau = 0.1};

TEST(FedAdamTest, TwoRoundsByHand) {
  FedAdam adam(kOptions);
  StrategyRunner runner(adam, {0, 0});
  auto rounds = TwoRounds();
  // v_1 = 0.99 * 0.01 + 0.01 * [1, 4] = [0.0199, 0.0499]
  // x_1 = 0.1 * [0.1, -0.2] / (sqrt(v_1) + 0.1)
  //     = [0.01 / 0.2410674, -0.02 / 0.3233831] = [0.04148218, -0.06184615]
  ASSERT_TRUE(runner.RunRound(rounds[0]).ok());
  EXPECT_THAT(runner.global(), ElementsAre(FloatNear(0.0414821816f, kTol), FloatNear(-0.0618461549f, kTol)));
  // v_2 = 0.99 * v_1 + 0.01 * [0.01, 1] = [0.019801, 0.059401]
  // x_2 = x_1 + 0.1 * [0.1, -0.08] / (sqrt(v_2) + 0.1)
  //     = x_1 + [0.01 / 0.2407167, -0.008 / 0.3437219] = [0.08302491, -0.08512070]
  ASSERT_TRUE(runner.RunRound(rounds[1]).ok());
  EXPECT_THAT(runner.global(), ElementsAre(FloatNear(0.083024908f, kTol), FloatNear(-0.0851206965f, kTol)));
}

TEST(FedYogiTest, TwoRoundsByHandCoverBothSigns) {
  FedYogi yogi(kOptions);
  StrategyRunner runner(yogi, {0, 0});
  auto rounds = TwoRounds();
  // v_0 - Delta_1^2 = [0.01 - 1, 0.01 - 4] < 0, so v grows:
  // v_1 = 0.01 + 0.01 * [1, 4] = [0.02, 0.05]
  // x_1 = [0.01 / (0.1414214 + 0.1), -0.02 / (0.2236068 + 0.1)] = [0.04142136, -0.06180340]
  ASSERT_TRUE(runner.RunRound(rounds[0]).ok());
  EXPECT_THAT(runner.global(), ElementsAre(FloatNear(0.0414213562f, kTol), FloatNear(-0.0618033989f, kTol)));
  // v_1 - Delta_2^2 = [0.02 - 0.01 > 0, 0.05 - 1 < 0]:
  // v_2 = [0.02 - 0.01 * 0.01, 0.05 + 0.01 * 1] = [0.0199, 0.06]
  // x_2 = x_1 + [0.01 / (0.1410674 + 0.1), -0.008 / (0.2449490 + 0.1)] = [0.08290354, -0.08499523]
  ASSERT_TRUE(runner.RunRound(rounds[1]).ok());
  EXPECT_THAT(runner.global(), ElementsAre(FloatNear(0.0829035379f, kTol), FloatNear(-0.0849952348f, kTol)));
}

TEST(FedAdagradTest, TwoRoundsByHandIgnoreBeta2) {
  FedOptOptions options = kOptions;
  options.beta2 = 0.5;  // must not matter
  FedAdagrad adagrad(options);
  StrategyRunner runner(adagrad, {0, 0});
  auto rounds = TwoRounds();
  // v_1 = 0.01 + [1, 4] = [1.01, 4.01]
  // x_1 = [0.01 / (1.0049876 + 0.1), -0.02 / (2.0024984 + 0.1)] = [0.00904988, -0.00951249]
  ASSERT_TRUE(runner.RunRound(rounds[0]).ok());
  EXPECT_THAT(runner.global(), ElementsAre(FloatNear(0.00904987562f, kTol), FloatNear(-0.0095124922f, kTol)));
  // v_2 = v_1 + [0.01, 1] = [1.02, 5.01]
  // x_2 = x_1 + [0.01 / (1.0099505 + 0.1), -0.008 / (2.2383029 + 0.1)] = [0.01805929, -0.01293378]
  ASSERT_TRUE(runner.RunRound(rounds[1]).ok());
  EXPECT_THAT(runner.global(), ElementsAre(FloatNear(0.0180592865f, kTol), FloatNear(-0.0129337769f, kTol)));
}

TEST(FedAvgMTest, TwoRoundsByHand) {
  FedAvgM avgm(FedAvgMOptions{.server_learning_rate = 0.5, .server_momentum = 0.9});
  StrategyRunner runner(avgm, {0, 0});
  auto rounds = TwoRounds();
  // u_1 = Delta_1 = [1, -2];  x_1 = 0.5 * u_1 = [0.5, -1]
  ASSERT_TRUE(runner.RunRound(rounds[0]).ok());
  EXPECT_THAT(runner.global(), ElementsAre(FloatNear(0.5f, kTol), FloatNear(-1.0f, kTol)));
  // u_2 = 0.9 * [1, -2] + [0.1, 1] = [1.0, -0.8];  x_2 = x_1 + 0.5 * u_2 = [1.0, -1.4]
  ASSERT_TRUE(runner.RunRound(rounds[1]).ok());
  EXPECT_THAT(runner.global(), ElementsAre(FloatNear(1.0f, kTol), FloatNear(-1.4f, kTol)));
}

TEST(FedOptStateTest, ExportImportResumesExactly) {
  auto rounds = TwoRounds();
  FedAdam continuous(kOptions);
  StrategyRunner a(continuous, {0, 0});
  ASSERT_TRUE(a.RunRounds(rounds).ok());

  FedAdam first(kOptions);
  EXPECT_TRUE(first.ExportState().empty());
  StrategyRunner b(first, {0, 0});
  ASSERT_TRUE(b.RunRound(rounds[0]).ok());
  std::vector<std::vector<float>> state = first.ExportState();
  ASSERT_EQ(state.size(), 2u);
  EXPECT_THAT(state[0], ElementsAre(FloatNear(0.1f, kTol), FloatNear(-0.2f, kTol)));        // m_1
  EXPECT_THAT(state[1], ElementsAre(FloatNear(0.0199f, kTol), FloatNear(0.0499f, kTol)));  // v_1

  FedAdam resumed(kOptions);
  ASSERT_TRUE(resumed.ImportState(state).ok());
  StrategyRunner c(resumed, b.global());
  ASSERT_TRUE(c.RunRound(rounds[1]).ok());
  EXPECT_EQ(c.global(), a.global());
}

TEST(FedOptStateTest, RejectsMalformedStateAndMismatchedModels) {
  FedYogi yogi(kOptions);
  EXPECT_EQ(yogi.ImportState({{1, 2}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(yogi.ImportState({{1, 2}, {1}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(yogi.ImportState({{1, 2}, {1, 0}}).code(), absl::StatusCode::kInvalidArgument);  // v must be > 0
  ASSERT_TRUE(yogi.ImportState({{1, 2}, {1, 1}}).ok());
  std::vector<float> delta = {1, 1, 1}, global = {0, 0, 0};
  EXPECT_EQ(yogi.Apply(delta, absl::MakeSpan(global)).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(yogi.ImportState({}).ok());  // reset
  EXPECT_TRUE(yogi.Apply(delta, absl::MakeSpan(global)).ok());
  std::vector<float> short_global = {0, 0};
  EXPECT_EQ(yogi.Apply(delta, absl::MakeSpan(short_global)).code(), absl::StatusCode::kInvalidArgument);
}

TEST(FedAvgMStateTest, ExportImportAndValidation) {
  FedAvgM avgm;
  StrategyRunner runner(avgm, {0, 0});
  ASSERT_TRUE(runner.RunRound(TwoRounds()[0]).ok());
  auto state = avgm.ExportState();
  ASSERT_EQ(state.size(), 1u);
  EXPECT_THAT(state[0], ElementsAre(FloatNear(1, kTol), FloatNear(-2, kTol)));
  EXPECT_EQ(avgm.ImportState({{1}, {2}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(avgm.ImportState(state).ok());
  EXPECT_FALSE(FedAvgMOptions{.server_momentum = 1.0}.Validate().ok());
}

TEST(FedOptOptionsTest, ValidateNamesTheField) {
  EXPECT_TRUE(FedOptOptions{}.Validate().ok());
  auto bad_beta = FedOptOptions{.beta1 = 1.0}.Validate();
  EXPECT_EQ(bad_beta.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_beta.message(), ::testing::HasSubstr("beta1"));
  EXPECT_THAT(FedOptOptions{.tau = 0}.Validate().message(), ::testing::HasSubstr("tau"));
  EXPECT_THAT(FedOptOptions{.server_learning_rate = -1}.Validate().message(),
              ::testing::HasSubstr("server_learning_rate"));
}

}  // namespace
}  // namespace fedge
