// File: client/drift/ddm.h
//
// DDM, the Drift Detection Method, for a stream of 0/1 prediction errors.
//
// Reference:
//   J. Gama, P. Medas, G. Castillo and P. Rodrigues, "Learning with drift
//   detection", Advances in Artificial Intelligence — SBIA 2004, LNCS 3171.
//
// Each value is the error of one prediction (1 = wrong, 0 = right). After
// the i-th value DDM estimates the error rate p_i and its binomial standard
// deviation s_i = sqrt(p_i (1 − p_i) / i), and remembers p_min and s_min at
// the point where p_i + s_i was lowest. Once i ≥ min_samples (30 in the
// paper):
//   warning  when p_i + s_i ≥ p_min + 2 · s_min,
//   drift    when p_i + s_i ≥ p_min + 3 · s_min,
// both only while p_i + s_i is strictly above p_min + s_min (so a constant
// stream never alarms). After a drift all statistics restart on the new
// concept; samples_seen is kept. The reported statistic is p_i + s_i.
//
// Values in (0, 1) are accepted as fractional errors and values outside
// [0, 1] are clamped. DDM needs a few errors in its reference period: if
// p_min = 0 (no error in the first 30 values) the first error is a drift. For
// near-perfect models prefer Page-Hinkley or ADWIN on the loss.
#ifndef FEDGE_CLIENT_DRIFT_DDM_H_
#define FEDGE_CLIENT_DRIFT_DDM_H_

#include <cstdint>
#include <limits>
#include <memory>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/drift/detector.h"

namespace fedge {

struct DdmOptions {
  // No warning or drift before this many values since the start or the last
  // drift; >= 1.
  int64_t min_samples = 30;
  // Warning when p + s ≥ p_min + warning_level · s_min; > 0.
  double warning_level = 2.0;
  // Drift when p + s ≥ p_min + drift_level · s_min; > warning_level.
  double drift_level = 3.0;
};

// kInvalidArgument naming the offending field when `options` is out of range.
absl::Status ValidateDdmOptions(const DdmOptions& options);

// Thread-safety: thread-compatible (see DriftDetector).
class Ddm final : public DriftDetector {
 public:
  static constexpr std::string_view kName = "ddm";

  // kInvalidArgument when the options are invalid.
  static absl::StatusOr<std::unique_ptr<Ddm>> Create(const DdmOptions& options);

  DriftSignal Update(double value) override;
  void Reset() override;
  std::string_view name() const override { return kName; }
  uint64_t samples_seen() const override { return samples_seen_; }

  // The error-rate estimate p_i of the current concept.
  double error_rate() const { return p_; }

 private:
  explicit Ddm(const DdmOptions& options) : options_(options) {}
  void Restart();

  DdmOptions options_;
  uint64_t samples_seen_ = 0;
  int64_t n_ = 0;
  double p_ = 0;
  double s_ = 0;
  double p_min_ = std::numeric_limits<double>::infinity();
  double s_min_ = std::numeric_limits<double>::infinity();
};

}  // namespace fedge

#endif  // FEDGE_CLIENT_DRIFT_DDM_H_
