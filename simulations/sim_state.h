// File: simulations/sim_state.h
//
// `SimState` is the simulator's half of a durable run (`[run] state_dir`,
// `fedge-sim run --resume`): what the coordinator's StateStore, kept in the
// same directory (coordinator/store/README.md), does not hold. It lives in
// <state_dir>/simulation/:
//
//   signing.pem, sealing.key  the run's artifact signing key and the key that
//                             seals the devices' residuals (a resumed run must
//                             open its stored model and residuals again);
//   devices/<id>/             each device's state folder (DeviceOptions::state_dir:
//                             the error-feedback residual);
//   ledgers/<id>.ledger       each device's privacy ledger ([dp]);
//   rows.json                 the rounds.csv rows of the rounds completed and
//                             the simulated clock at the end of the last one;
//   undo/                     the state before the round in progress of the
//                             devices it materialises, and `round` (written
//                             last): an interrupted round is re-run from its
//                             start, so its devices are put back first.
//
// The coordinator's store is the commit point of a round: see
// simulations/README.md ("Durable runs") for how the two are reconciled.
// Files are written atomically (core/file_util.h); the folder survives the
// process being killed, which is what --resume is for.
//
// LibTorch-free. Thread-compatible: used by the driving thread only.
#ifndef FEDGE_SIMULATIONS_SIM_STATE_H_
#define FEDGE_SIMULATIONS_SIM_STATE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/store/state_store.h"
#include "core/sealing.h"
#include "core/signing.h"
#include "simulations/report.h"
#include "simulations/scenario.h"

namespace fedge {

// The settings a resumed simulation must keep, keyed like the scenario
// file: every key of ScenarioToJson except those that do not change the
// results (run.workers, run.out_dir, run.state_dir) and federation.rounds
// (a finished run may be extended).
RunConfig SimulationRunConfig(const Scenario& scenario);

// Why a scenario cannot keep its state in a state_dir (features whose state
// is not stored yet), naming the key; OK when it can.
absl::Status CheckResumable(const Scenario& scenario);

// An absl::Time as text and back, exactly (seconds and quarter nanoseconds
// since the epoch).
std::string EncodeExactTime(absl::Time t);
absl::StatusOr<absl::Time> DecodeExactTime(std::string_view text);

// Round rows as JSON and back, every field exactly (NaN as null).
nlohmann::json RoundRowsToJson(const std::vector<RoundRow>& rows);
absl::StatusOr<std::vector<RoundRow>> RoundRowsFromJson(const nlohmann::json& json);

class SimState {
 public:
  // Opens (creates) <state_dir>/simulation. kUnavailable when it cannot.
  static absl::StatusOr<SimState> Open(const std::string& state_dir);

  // Forgets everything (a new run in the same directory).
  absl::Status Clear();

  // The folder holding one state folder per device, and one of them.
  std::string DevicesDir() const;
  std::string DeviceStateDir(const std::string& device_id) const;
  std::string LedgerDir() const;
  std::string LedgerPath(const std::string& device_id) const;

  // The run's keys: generated and written (mode 0600) when missing.
  absl::StatusOr<SigningKey> LoadOrCreateSigningKey() const;
  absl::StatusOr<SealingKey> LoadOrCreateSealingKey() const;

  // What the simulator completed: the rows of its rounds and the simulated
  // clock at the end of the last one (InfinitePast for a new run), exact to
  // absl::Time's resolution: the next round opens then, and DP noise and
  // every arrival time derive from it. (The store keeps microseconds only,
  // and the end of a round is not its close: uploads refused as late after
  // the target still advance the clock.)
  struct Progress {
    std::vector<RoundRow> rows;
    absl::Time clock = absl::InfinitePast();
  };
  absl::StatusOr<Progress> LoadProgress() const;
  absl::Status SaveProgress(const Progress& progress) const;

  // Before round `round` changes anything of `device_ids`: copies their
  // state folders and ledgers to the undo log, then marks it complete.
  absl::Status BeginRound(int64_t round, const std::vector<std::string>& device_ids) const;
  // The round a complete undo log is for; 0 when there is none.
  absl::StatusOr<int64_t> UndoRound() const;
  // Where the clock will stand at the round's end, saved before its
  // uploads are delivered: at the last arrival if the coordinator reaches
  // `target` during the delivery, otherwise at the deadline.
  struct RoundEnd {
    absl::Time last_arrival = absl::InfinitePast();
    absl::Time deadline = absl::InfinitePast();
    int64_t target = 0;
  };
  absl::Status SaveRoundEnd(const RoundEnd& end) const;
  // nullopt when not saved.
  absl::StatusOr<std::optional<RoundEnd>> LoadRoundEnd() const;
  // Puts the logged devices back as they were before the round: state
  // folders except those of `keep_state`, and ledgers unless `keep_ledgers`.
  absl::Status Undo(const absl::flat_hash_set<std::string>& keep_state, bool keep_ledgers) const;
  // The round is over (its row saved): drops the undo log.
  absl::Status EndRound() const;

 private:
  explicit SimState(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;  // <state_dir>/simulation
};

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_SIM_STATE_H_
