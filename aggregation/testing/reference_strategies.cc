#include "aggregation/testing/reference_strategies.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <numeric>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fedge::testing {
namespace {

std::vector<double> SortedColumn(const Eigen::MatrixXd& updates, Eigen::Index j) {
  std::vector<double> col(updates.rows());
  for (Eigen::Index i = 0; i < updates.rows(); ++i) col[i] = updates(i, j);
  std::sort(col.begin(), col.end());
  return col;
}

bool IsFedOpt(const std::string& name) { return name == "fedadam" || name == "fedyogi" || name == "fedadagrad"; }

}  // namespace

Eigen::VectorXd ReferenceWeightedMean(const Eigen::MatrixXd& updates, const Eigen::VectorXd& weights) {
  return (updates.transpose() * weights) / weights.sum();
}

Eigen::VectorXd ReferenceMedian(const Eigen::MatrixXd& updates) {
  const Eigen::Index n = updates.rows();
  Eigen::VectorXd out(updates.cols());
  for (Eigen::Index j = 0; j < updates.cols(); ++j) {
    const std::vector<double> col = SortedColumn(updates, j);
    out(j) = n % 2 == 1 ? col[n / 2] : 0.5 * (col[n / 2 - 1] + col[n / 2]);
  }
  return out;
}

Eigen::VectorXd ReferenceTrimmedMean(const Eigen::MatrixXd& updates, double trim_fraction) {
  const Eigen::Index n = updates.rows();
  const Eigen::Index k = static_cast<Eigen::Index>(std::floor(trim_fraction * n));
  Eigen::VectorXd out(updates.cols());
  for (Eigen::Index j = 0; j < updates.cols(); ++j) {
    const std::vector<double> col = SortedColumn(updates, j);
    out(j) = std::accumulate(col.begin() + k, col.end() - k, 0.0) / static_cast<double>(n - 2 * k);
  }
  return out;
}

Eigen::VectorXd ReferenceMultiKrum(const Eigen::MatrixXd& updates, int64_t f, int64_t m) {
  const Eigen::Index n = updates.rows();
  if (m == 0) m = n - f;
  std::vector<double> scores(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    std::vector<double> dists;
    for (Eigen::Index j = 0; j < n; ++j) {
      if (j != i) dists.push_back((updates.row(i) - updates.row(j)).squaredNorm());
    }
    std::sort(dists.begin(), dists.end());
    scores[i] = std::accumulate(dists.begin(), dists.begin() + (n - f - 2), 0.0);
  }
  std::vector<Eigen::Index> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](Eigen::Index a, Eigen::Index b) { return scores[a] < scores[b]; });
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(updates.cols());
  for (int64_t s = 0; s < m; ++s) sum += updates.row(order[s]).transpose();
  return sum / static_cast<double>(m);
}

ReferenceStrategy::ReferenceStrategy(ReferenceOptions options) : options_(std::move(options)) {}

double ReferenceStrategy::LearningRate() const {
  return options_.server_learning_rate.value_or(IsFedOpt(options_.name) ? 0.01 : 1.0);
}

Eigen::VectorXd ReferenceStrategy::Combine(const Eigen::MatrixXd& updates, const Eigen::VectorXd& weights) const {
  const std::string& name = options_.name;
  if (name == "median") return ReferenceMedian(updates);
  if (name == "trimmed_mean") return ReferenceTrimmedMean(updates, options_.trim_fraction);
  if (name == "krum") return ReferenceMultiKrum(updates, options_.num_byzantine, 1);
  if (name == "multikrum") return ReferenceMultiKrum(updates, options_.num_byzantine, options_.num_selected);
  return ReferenceWeightedMean(updates, weights);
}

void ReferenceStrategy::Apply(const Eigen::VectorXd& delta, Eigen::VectorXd& global) {
  const std::string& name = options_.name;
  const double lr = LearningRate();
  if (name == "fedavgm") {
    if (m_.size() == 0) m_ = Eigen::VectorXd::Zero(delta.size());
    m_ = options_.server_momentum * m_ + delta;
    global += lr * m_;
    return;
  }
  if (!IsFedOpt(name)) {
    global += lr * delta;
    return;
  }
  // Reddi et al. 2021, Algorithm 2, with m_{-1} = 0 and v_{-1} = tau^2.
  const double b1 = options_.beta1, b2 = options_.beta2, tau = options_.tau;
  if (m_.size() == 0) {
    m_ = Eigen::VectorXd::Zero(delta.size());
    v_ = Eigen::VectorXd::Constant(delta.size(), tau * tau);
  }
  m_ = b1 * m_ + (1 - b1) * delta;
  const Eigen::VectorXd g2 = delta.array().square().matrix();
  if (name == "fedadam") {
    v_ = b2 * v_ + (1 - b2) * g2;
  } else if (name == "fedyogi") {
    v_ = v_ - ((1 - b2) * g2.array() * (v_ - g2).array().sign()).matrix();
  } else {
    v_ += g2;
  }
  global += (lr * m_.array() / (v_.array().sqrt() + tau)).matrix();
}

std::string DescribeReferenceOptions(const ReferenceOptions& o) {
  std::string label = o.name;
  if (o.server_learning_rate) absl::StrAppend(&label, "_lr", *o.server_learning_rate);
  if (o.name == "fedprox") absl::StrAppend(&label, "_mu", o.proximal_mu);
  if (IsFedOpt(o.name)) absl::StrAppend(&label, "_b1_", o.beta1, "_b2_", o.beta2, "_tau", o.tau);
  if (o.name == "fedavgm") absl::StrAppend(&label, "_momentum", o.server_momentum);
  if (o.name == "trimmed_mean") absl::StrAppend(&label, "_beta", o.trim_fraction);
  if (o.name == "krum" || o.name == "multikrum") absl::StrAppend(&label, "_f", o.num_byzantine);
  if (o.name == "multikrum") absl::StrAppend(&label, "_m", o.num_selected);
  for (char& c : label) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return label;
}

std::string ToStrategyToml(const ReferenceOptions& o) {
  const std::string& name = o.name;
  std::string toml = absl::StrCat("name = \"", name, "\"\n[", name, "]\n");
  auto add = [&toml](const char* key, double value) {
    absl::StrAppend(&toml, key, " = ", absl::StrFormat("%.17g", value), "\n");
  };
  auto add_int = [&toml](const char* key, int64_t value) { absl::StrAppend(&toml, key, " = ", value, "\n"); };
  if (o.server_learning_rate) add("server_learning_rate", *o.server_learning_rate);
  if (name == "fedprox") add("proximal_mu", o.proximal_mu);
  if (IsFedOpt(name)) {
    add("beta1", o.beta1);
    if (name != "fedadagrad") add("beta2", o.beta2);
    add("tau", o.tau);
  }
  if (name == "fedavgm") add("server_momentum", o.server_momentum);
  if (name == "trimmed_mean") add("trim_fraction", o.trim_fraction);
  if (name == "krum" || name == "multikrum") add_int("num_byzantine", o.num_byzantine);
  if (name == "multikrum") add_int("num_selected", o.num_selected);
  if (name == "median" || name == "trimmed_mean" || name == "krum" || name == "multikrum") {
    add_int("max_updates", o.max_updates);
  }
  return toml;
}

void PrintTo(const ReferenceOptions& options, std::ostream* os) { *os << DescribeReferenceOptions(options); }

}  // namespace fedge::testing
