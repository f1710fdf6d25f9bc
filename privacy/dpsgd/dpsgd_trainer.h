// File: privacy/dpsgd/dpsgd_trainer.h
//
// DP-SGD (Abadi et al. 2016, "Deep learning with differential privacy") for
// on-device training of zoo models. Each step:
//
//   1. Poisson sampling: every example joins the batch independently with
//      probability q = expected_batch_size / N (seeded generator), so the
//      batch size varies and may be 0;
//   2. per-example gradients in one backward pass
//      (privacy/dpsgd/per_example_gradients.h), each clipped to L2 norm C:
//      c_n = min(1, C/‖g_n‖);
//   3. the clipped sum Σ_n c_n g_n, computed as one weighted contraction,
//      plus Gaussian noise N(0, (σC)²) per coordinate drawn from an injected
//      SecureRandom;
//   4. division by the EXPECTED batch size (not the sampled one, whose size
//      would otherwise leak), then an SGD step (momentum, weight decay).
//
// The run is T steps of the sampled Gaussian mechanism with (q, σ): charge
// the device's PrivacyLedger with DpSgdStats{sample_rate, noise_multiplier,
// steps} BEFORE the trained model leaves the device.
//
// Usage:
//   DpSgdOptions options{.clip_norm = 1.0, .noise_multiplier = 1.1, .expected_batch_size = 64};
//   FEDGE_ASSIGN_OR_RETURN(double eps, ledger->EpsilonIfSpent(q, sigma, steps));  // optional preview
//   FEDGE_ASSIGN_OR_RETURN(DpSgdStats stats,
//                          TrainWithDpSgd(model, data, options, SecureRandom::Default()));
//   FEDGE_RETURN_IF_ERROR(ledger->Charge(stats.sample_rate, stats.noise_multiplier, stats.steps));
#ifndef FEDGE_PRIVACY_DPSGD_DPSGD_TRAINER_H_
#define FEDGE_PRIVACY_DPSGD_DPSGD_TRAINER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <torch/nn/modules/container/sequential.h>
#include <torch/types.h>

#include "absl/status/statusor.h"
#include "core/random.h"
#include "models/dataset.h"
#include "privacy/dpsgd/per_example_gradients.h"
#include "privacy/rdp_accountant.h"

namespace fedge {

struct DpSgdOptions {
  // C: per-example L2 clipping norm. Finite, > 0.
  double clip_norm = 1.0;
  // σ: noise standard deviation in units of C. Finite, >= 0; 0 turns the
  // noise off and with it every privacy guarantee (the ledger refuses σ = 0).
  double noise_multiplier = 1.0;
  // Expected batch size; q = expected_batch_size / N. In [1, N].
  int64_t expected_batch_size = 64;
  // Length of training: `steps` when > 0, otherwise epochs·ceil(N / expected
  // batch size) steps (each example is then seen `epochs` times on average).
  int epochs = 1;
  int64_t steps = 0;
  double learning_rate = 0.05;  // > 0
  double momentum = 0;          // [0, 1)
  double weight_decay = 0;      // >= 0, applied by the optimiser after noising
  // Seeds Poisson sampling.
  uint64_t seed = 0;
  NormMethod norm_method = NormMethod::kAuto;
  // Called before every step; a non-OK status stops training and is
  // returned. Nothing of an interrupted run may leave the device, so it
  // spends no privacy. Empty: never interrupted.
  std::function<absl::Status()> between_batches = nullptr;
};

// Validates options: kInvalidArgument naming the bad field.
absl::Status ValidateDpSgdOptions(const DpSgdOptions& options);

// Result of one step. The loss and clipped count are NOT privatised: use them
// for local diagnostics only, never report them off the device.
struct DpSgdStepStats {
  int64_t batch_size = 0;
  double loss_sum = 0;
  int64_t clipped = 0;  // examples whose gradient norm exceeded C
};

// Result of a run. (sample_rate, noise_multiplier, steps) is what the
// privacy ledger / RDP accountant must be charged.
struct DpSgdStats {
  int64_t steps = 0;
  double sample_rate = 0;       // q
  double noise_multiplier = 0;  // σ
  double clip_norm = 0;         // C
  // Not privatised (diagnostics only):
  double mean_loss = 0;          // per example, over all sampled examples
  int64_t examples = 0;          // total sampled examples
  double clipped_fraction = 0;   // of sampled examples
};

// Step-by-step DP-SGD over one model. Shares the model handle (trains it in
// place); borrows `rng`, which must outlive the trainer. Not thread-safe.
class DpSgdTrainer {
 public:
  // `dataset_size` is N, which fixes q. kInvalidArgument for invalid options,
  // a null rng, N < expected_batch_size, or an unsupported model.
  static absl::StatusOr<std::unique_ptr<DpSgdTrainer>> Create(torch::nn::Sequential model,
                                                              const DpSgdOptions& options, int64_t dataset_size,
                                                              SecureRandom* rng);
  ~DpSgdTrainer();

  double sample_rate() const { return sample_rate_; }

  // Indices (int64, ascending) of one Poisson sample of [0, N).
  torch::Tensor SampleBatch();

  // One DP-SGD step on a batch that was Poisson-sampled (images [B, ...],
  // int64 labels [B]; B may be 0, which still noises and steps). Returns
  // kInvalidArgument for mismatched shapes, kFailedPrecondition when a
  // per-example gradient is not finite (lower the learning rate), kInternal
  // for a LibTorch error.
  absl::StatusOr<DpSgdStepStats> Step(const torch::Tensor& images, const torch::Tensor& labels);

 private:
  struct Impl;
  explicit DpSgdTrainer(std::unique_ptr<Impl> impl, double sample_rate);
  std::unique_ptr<Impl> impl_;
  double sample_rate_;
};

// The sampled Gaussian mechanism a run of `options` over `dataset_size`
// examples amounts to: what a privacy ledger must accept before training.
// REQUIRES: ValidateDpSgdOptions(options).ok(), dataset_size >= 1.
SgmEvent PlanDpSgd(const DpSgdOptions& options, int64_t dataset_size);

// Trains `model` in place on `data` with DP-SGD (Poisson-sampled batches);
// see DpSgdTrainer for the status codes. kFailedPrecondition for no data.
// On an error part-way the model may already have taken steps: charge the
// ledger for the planned steps before releasing it.
absl::StatusOr<DpSgdStats> TrainWithDpSgd(torch::nn::Sequential& model, const TensorDataset& data,
                                          const DpSgdOptions& options, SecureRandom* rng);

}  // namespace fedge

#endif  // FEDGE_PRIVACY_DPSGD_DPSGD_TRAINER_H_
