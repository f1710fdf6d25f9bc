#include "privacy/rdp_accountant.h"

#include <cmath>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace fedge {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

PrivacyGuarantee Epsilon(double q, double sigma, int64_t steps, double delta) {
  absl::StatusOr<PrivacyGuarantee> g = ComputeEpsilon({q, sigma, steps}, delta);
  EXPECT_TRUE(g.ok()) << g.status();
  return g.value_or(PrivacyGuarantee{});
}

TEST(RdpAccountantTest, DefaultOrderGrid) {
  const std::vector<double>& orders = DefaultRdpOrders();
  ASSERT_EQ(orders.size(), 99u + 52u);
  EXPECT_DOUBLE_EQ(orders.front(), 1.1);
  EXPECT_DOUBLE_EQ(orders[98], 10.9);
  EXPECT_EQ(orders[99], 12.0);
  EXPECT_EQ(orders.back(), 63.0);
}

// Reference figures of the Balle et al. conversion over the default grid.
TEST(RdpAccountantTest, ReproducesReferenceEpsilonForSmallSampleRate) {
  const PrivacyGuarantee g = Epsilon(0.01, 1.0, 1000, 1e-5);
  EXPECT_NEAR(g.epsilon, 2.1014, 5e-5);
  EXPECT_DOUBLE_EQ(g.order, 7.8);
  // The same computation done independently in high precision.
  EXPECT_NEAR(g.epsilon, 2.1013652716432, 2.1013652716432 * 1e-6);
}

TEST(RdpAccountantTest, ReproducesReferenceEpsilonForMnistSetting) {
  const PrivacyGuarantee g = Epsilon(256.0 / 60000.0, 1.12, 14040, 1e-5);
  EXPECT_NEAR(g.epsilon, 2.5165, 1e-4);
}

// Per-order RDP against log(∫ μ0(z) ((1-q) + q e^{(2z-1)/(2σ²)})^α dz)/(α-1)
// evaluated by adaptive quadrature at 30 digits: checks the fractional series
// and the integer expansion independently of their derivation.
TEST(RdpAccountantTest, MatchesNumericalIntegration) {
  struct Case {
    double q, sigma, order, rdp;
  };
  const Case cases[] = {
      {0.9, 1.0, 2.5, 1.116510250730583},    {0.01, 1.0, 7.8, 0.0008475661385626522},
      {0.3, 0.7, 1.1, 0.15066627751049028},  {0.01, 0.5, 10.9, 16.72966110835655},
      {0.5, 2.0, 3.0, 0.1100231933576233},
  };
  for (const Case& c : cases) {
    absl::StatusOr<double> rdp = SampledGaussianRdp(c.q, c.sigma, c.order);
    ASSERT_TRUE(rdp.ok()) << rdp.status();
    EXPECT_NEAR(*rdp, c.rdp, c.rdp * 1e-8) << "q=" << c.q << " sigma=" << c.sigma << " order=" << c.order;
  }
}

TEST(RdpAccountantTest, FullBatchIsPlainGaussianMechanism) {
  for (const double order : DefaultRdpOrders()) {
    EXPECT_EQ(*SampledGaussianRdp(1.0, 1.3, order), order / (2 * 1.3 * 1.3));
  }
  const std::vector<double> orders = {1.5, 2, 7.8, 32};
  absl::StatusOr<std::vector<double>> rdp = ComputeRdp({1.0, 0.8, 250}, orders);
  ASSERT_TRUE(rdp.ok());
  for (size_t i = 0; i < orders.size(); ++i) EXPECT_EQ((*rdp)[i], orders[i] / (2 * 0.8 * 0.8) * 250);
}

TEST(RdpAccountantTest, ZeroSampleRateOrZeroStepsCostNothing) {
  EXPECT_EQ(*SampledGaussianRdp(0.0, 1.0, 2.5), 0.0);
  EXPECT_EQ(Epsilon(0.0, 1.0, 1000, 1e-5).epsilon, 0.0);
  EXPECT_EQ(Epsilon(0.5, 1.0, 0, 1e-5).epsilon, 0.0);
}

TEST(RdpAccountantTest, IntegerAndFractionalBranchesAgree) {
  for (const double q : {0.001, 0.05, 0.6}) {
    for (const double order : {2.0, 3.0, 8.0}) {
      const double at = *SampledGaussianRdp(q, 0.9, order);
      EXPECT_NEAR(*SampledGaussianRdp(q, 0.9, order - 1e-7), at, at * 1e-5);
      EXPECT_NEAR(*SampledGaussianRdp(q, 0.9, order + 1e-7), at, at * 1e-5);
    }
  }
}

TEST(RdpAccountantTest, EpsilonIsMonotone) {
  double previous = 0;
  for (const int64_t steps : {10, 100, 1000, 10000}) {
    const double eps = Epsilon(0.01, 1.0, steps, 1e-5).epsilon;
    EXPECT_GT(eps, previous);
    previous = eps;
  }
  previous = std::numeric_limits<double>::infinity();
  for (const double sigma : {0.6, 0.8, 1.0, 2.0, 4.0}) {
    const double eps = Epsilon(0.01, sigma, 1000, 1e-5).epsilon;
    EXPECT_LT(eps, previous);
    previous = eps;
  }
  EXPECT_LT(Epsilon(0.01, 1.0, 1000, 1e-5).epsilon, Epsilon(0.02, 1.0, 1000, 1e-5).epsilon);
  EXPECT_GT(Epsilon(0.01, 1.0, 1000, 1e-6).epsilon, Epsilon(0.01, 1.0, 1000, 1e-5).epsilon);
}

TEST(RdpAccountantTest, ConversionFollowsBalleEtAl) {
  const std::vector<double> orders = {2.0, 10.0};
  const std::vector<double> rdp = {0.5, 1.0};
  absl::StatusOr<PrivacyGuarantee> g = RdpToEpsilon(orders, rdp, 1e-5);
  ASSERT_TRUE(g.ok());
  const double at2 = 0.5 - (std::log(1e-5) + std::log(2.0)) / 1.0 + std::log(0.5);
  const double at10 = 1.0 - (std::log(1e-5) + std::log(10.0)) / 9.0 + std::log(0.9);
  EXPECT_DOUBLE_EQ(g->epsilon, std::min(at2, at10));
  EXPECT_EQ(g->order, 10.0);
}

TEST(RdpAccountantTest, AccountantComposesHeterogeneousEvents) {
  RdpAccountant accountant;
  ASSERT_TRUE(accountant.Compose({0.01, 1.0, 400}).ok());
  ASSERT_TRUE(accountant.Compose({0.01, 1.0, 600}).ok());
  EXPECT_NEAR(accountant.GetEpsilon(1e-5)->epsilon, Epsilon(0.01, 1.0, 1000, 1e-5).epsilon, 1e-12);

  ASSERT_TRUE(accountant.Compose({0.05, 2.0, 300}).ok());
  const std::vector<double>& orders = accountant.orders();
  const std::vector<double> a = *ComputeRdp({0.01, 1.0, 1000}, orders);
  const std::vector<double> b = *ComputeRdp({0.05, 2.0, 300}, orders);
  for (size_t i = 0; i < orders.size(); ++i) EXPECT_NEAR(accountant.rdp()[i], a[i] + b[i], 1e-12 * (a[i] + b[i]));
  EXPECT_GT(accountant.GetEpsilon(1e-5)->epsilon, Epsilon(0.01, 1.0, 1000, 1e-5).epsilon);

  // An invalid event leaves the accountant unchanged.
  const std::vector<double> before = accountant.rdp();
  EXPECT_EQ(accountant.Compose({1.5, 1.0, 1}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(accountant.rdp(), before);
}

TEST(RdpAccountantTest, CustomOrders) {
  absl::StatusOr<RdpAccountant> accountant = RdpAccountant::Create({2, 4, 8});
  ASSERT_TRUE(accountant.ok());
  ASSERT_TRUE(accountant->Compose({1.0, 1.0, 2}).ok());
  EXPECT_EQ(accountant->rdp(), (std::vector<double>{2.0, 4.0, 8.0}));
  EXPECT_EQ(RdpAccountant::Create({}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RdpAccountant::Create({2, 1}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RdpAccountant::Create({2, kNaN}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RdpAccountantTest, FindsNoiseMultiplierForTargetEpsilon) {
  for (const double target : {1.0, 3.0, 8.0}) {
    absl::StatusOr<double> sigma = FindNoiseMultiplier(target, 0.01, 1000, 1e-5);
    ASSERT_TRUE(sigma.ok()) << sigma.status();
    const double eps = Epsilon(0.01, *sigma, 1000, 1e-5).epsilon;
    EXPECT_LE(eps, target);
    EXPECT_NEAR(eps, target, target * 1e-5);
    EXPECT_GT(Epsilon(0.01, *sigma * (1 - 1e-5), 1000, 1e-5).epsilon, target);
  }
  // Round trip from the reference setting.
  EXPECT_NEAR(*FindNoiseMultiplier(2.1013652716432, 0.01, 1000, 1e-5), 1.0, 1e-5);
}

TEST(RdpAccountantTest, RejectsImpossibleNoiseTargets) {
  // Even σ → ∞ cannot certify ε this small with orders up to 63.
  absl::StatusOr<double> tiny = FindNoiseMultiplier(0.05, 0.01, 1000, 1e-5);
  EXPECT_EQ(tiny.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_NE(tiny.status().message().find("unreachable"), std::string_view::npos);
  EXPECT_EQ(FindNoiseMultiplier(1e9, 0.01, 10, 1e-5).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(FindNoiseMultiplier(1.0, 0.0, 1000, 1e-5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FindNoiseMultiplier(1.0, 0.01, 0, 1e-5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FindNoiseMultiplier(0.0, 0.01, 10, 1e-5).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FindNoiseMultiplier(kNaN, 0.01, 10, 1e-5).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RdpAccountantTest, RejectsInvalidInputs) {
  const auto code = [](const absl::Status& s) { return s.code(); };
  constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;
  EXPECT_EQ(code(SampledGaussianRdp(-0.1, 1.0, 2).status()), kInvalid);
  EXPECT_EQ(code(SampledGaussianRdp(1.1, 1.0, 2).status()), kInvalid);
  EXPECT_EQ(code(SampledGaussianRdp(kNaN, 1.0, 2).status()), kInvalid);
  EXPECT_EQ(code(SampledGaussianRdp(0.1, 0.0, 2).status()), kInvalid);
  EXPECT_EQ(code(SampledGaussianRdp(0.1, -1.0, 2).status()), kInvalid);
  EXPECT_EQ(code(SampledGaussianRdp(0.1, std::numeric_limits<double>::infinity(), 2).status()), kInvalid);
  EXPECT_EQ(code(SampledGaussianRdp(0.1, 1.0, 1.0).status()), kInvalid);
  EXPECT_EQ(code(SampledGaussianRdp(0.1, 1.0, 0.5).status()), kInvalid);
  EXPECT_EQ(code(ComputeEpsilon({0.1, 1.0, -1}, 1e-5).status()), kInvalid);
  for (const double delta : {0.0, 1.0, -1e-5, kNaN}) {
    EXPECT_EQ(code(ComputeEpsilon({0.1, 1.0, 10}, delta).status()), kInvalid) << delta;
  }
  const std::vector<double> orders = {2, 3};
  EXPECT_EQ(code(RdpToEpsilon(orders, std::vector<double>{1.0}, 1e-5).status()), kInvalid);
  EXPECT_EQ(code(RdpToEpsilon(orders, std::vector<double>{1.0, -1.0}, 1e-5).status()), kInvalid);
  EXPECT_EQ(code(RdpToEpsilon({}, {}, 1e-5).status()), kInvalid);
  const absl::Status message = SampledGaussianRdp(1.5, 1.0, 2).status();
  EXPECT_NE(message.message().find("sample rate"), std::string_view::npos) << message;
}

}  // namespace
}  // namespace fedge
