// File: privacy/privacy_ledger.h
//
// A device-side record of the differential privacy its data has spent, so
// that a lifetime budget (ε_max, δ) holds across tasks, restarts and crashes.
// Every task the device trains is one sampled Gaussian mechanism event
// (q, σ, steps) of DP-SGD; the ledger composes them with the RDP accountant
// (privacy/rdp_accountant.h) and refuses a task that would push ε past the
// budget.
//
// The ledger is persisted after every charge with WriteFileAtomically, so a
// crash leaves either the old or the new ledger; it never under-counts a task
// whose update could have left the device, provided the caller charges BEFORE
// uploading. File format (text, one record per line, see privacy/README.md):
//
//   fedge-privacy-ledger 1
//   event <q> <sigma> <steps>      (zero or more; %.17g, exact round trip)
//   end <number of event lines>
//
// Events with the same (q, σ) are merged by adding their steps (RDP
// composition is order-independent), so the file stays small.
//
// Example:
//   FEDGE_ASSIGN_OR_RETURN(auto ledger, PrivacyLedger::Open(path, {.epsilon = 8, .delta = 1e-5}));
//   FEDGE_RETURN_IF_ERROR(ledger->Charge(0.01, 1.1, 500));  // before uploading
#ifndef FEDGE_PRIVACY_PRIVACY_LEDGER_H_
#define FEDGE_PRIVACY_PRIVACY_LEDGER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/sealing.h"
#include "privacy/rdp_accountant.h"

namespace fedge {

// A lifetime (ε_max, δ) budget.
struct PrivacyBudget {
  // Largest total ε the device may spend; finite and > 0.
  double epsilon = 0;
  // δ at which ε is measured; in (0, 1).
  double delta = 0;
};

// Thread-safe: all methods may be called concurrently; charges are
// serialised. The ledger exclusively owns its file: two ledgers (or two
// processes) on the same path would lose charges.
class PrivacyLedger {
 public:
  // Opens the ledger at `path`, loading it if the file exists; a missing file
  // gives an empty ledger (nothing is written until the first charge).
  // Returns kInvalidArgument for an invalid budget, kDataLoss when the file
  // exists but is not a valid ledger (the message says where), and
  // kUnavailable when it cannot be read. A loaded ledger may already exceed
  // the budget (e.g. after the budget was lowered): it then refuses every
  // charge.
  //
  // With `seal`, the file is an AES-256-GCM record of the text format
  // (core/sealing.h): an altered or foreign ledger fails to open with
  // kDataLoss instead of being trusted, so the device cannot be made to
  // under-count what it spent. A sealed ledger is also written (empty) as
  // soon as it is created, so that its absence later means something: with
  // `must_exist` (the caller knows a ledger was kept, e.g. its sealing key
  // predates this run) a missing file is kDataLoss too, since deleting the
  // ledger would otherwise reset the device's spending to zero.
  static absl::StatusOr<std::unique_ptr<PrivacyLedger>> Open(std::string path, PrivacyBudget budget,
                                                            std::optional<SealingKey> seal = std::nullopt,
                                                            bool must_exist = false);

  // An operator's reset after Open refused a ledger: the file, if any, is
  // renamed to `<path>.reset-<unix seconds>` (kept for review) and an empty
  // sealed ledger takes its place. The device's spending starts again at 0:
  // only for a device whose history the operator has checked.
  static absl::Status Reset(const std::string& path, const SealingKey& seal);

  PrivacyLedger(const PrivacyLedger&) = delete;
  PrivacyLedger& operator=(const PrivacyLedger&) = delete;

  // The total ε (at the budget's δ) the device would have spent after a task
  // of `steps` DP-SGD steps at sampling rate q and noise multiplier σ.
  // Does not change the ledger. kInvalidArgument for invalid q, σ or steps.
  absl::StatusOr<double> EpsilonIfSpent(double sample_rate, double noise_multiplier, int64_t steps) const;

  // Records the task and persists the ledger. Returns kResourceExhausted
  // (message: spent, requested and budget ε) if it would exceed the budget,
  // kInvalidArgument for invalid arguments, and the write error (the ledger
  // is then unchanged in memory and on disk) if persisting fails.
  absl::Status Charge(double sample_rate, double noise_multiplier, int64_t steps);

  // ε spent so far at the budget's δ (0 for an empty ledger).
  double Epsilon() const;
  const PrivacyBudget& budget() const { return budget_; }
  const std::string& path() const { return path_; }
  // The recorded events, merged by (q, σ).
  std::vector<SgmEvent> events() const;

 private:
  PrivacyLedger(std::string path, PrivacyBudget budget, std::optional<SealingKey> seal)
      : path_(std::move(path)), budget_(budget), seal_(std::move(seal)) {}
  // The file's bytes for `events`: the text format, sealed when seal_ is set.
  absl::StatusOr<std::string> FileContents(const std::vector<SgmEvent>& events) const;

  // Adds `event` to `events`, merging with an event of the same (q, σ).
  // kOutOfRange when the merged step count would overflow int64 (only a
  // crafted ledger file or a caller charging absurd step counts gets there).
  static absl::Status MergeEvent(const SgmEvent& event, std::vector<SgmEvent>& events);
  // A copy of the accountant with `event` composed in.
  absl::StatusOr<RdpAccountant> ComposedWith(const SgmEvent& event) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const std::string path_;
  const PrivacyBudget budget_;
  const std::optional<SealingKey> seal_;
  mutable absl::Mutex mu_;
  std::vector<SgmEvent> events_ ABSL_GUARDED_BY(mu_);
  RdpAccountant accountant_ ABSL_GUARDED_BY(mu_);
  double epsilon_ ABSL_GUARDED_BY(mu_) = 0;
};

// The file contents for `events` (exposed for tests and tools).
std::string SerializePrivacyLedger(const std::vector<SgmEvent>& events);
// Parses ledger file contents. kDataLoss with the line number and reason
// for anything that is not a valid version-1 ledger.
absl::StatusOr<std::vector<SgmEvent>> ParsePrivacyLedger(std::string_view contents);

}  // namespace fedge

#endif  // FEDGE_PRIVACY_PRIVACY_LEDGER_H_
