#include "simulations/mpi_run.h"

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/idx.h"
#include "simulations/mpi_channel.h"
#include "simulations/remote_training.h"
#include "simulations/run_variants.h"

namespace fedge {
namespace {

int Fail(int rank, const absl::Status& status, int code) {
  std::fprintf(stderr, "fedge-sim (MPI rank %d): %s\n", rank, status.ToString().c_str());
  return code;
}

// A worker rank: trains what rank 0 sends until it says stop.
int ServeRank(const MpiSession& session, const Scenario& scenario) {
  TrainingServer server(scenario, LoadFashionMnist(scenario.data.dir, "train"));
  absl::Status served = ServeMpiWorker(server, scenario.run.workers);
  return served.ok() ? 0 : Fail(session.rank(), served, 1);
}

}  // namespace

int RunScenarioSetOverMpi(const ScenarioSet& set, RunOptions options) {
  absl::StatusOr<std::unique_ptr<MpiSession>> session = MpiSession::Init();
  if (!session.ok()) return Fail(-1, session.status(), 1);
  const int rank = (*session)->rank();
  if (set.runs.size() != 1) {
    // Every rank loaded the same file and refuses alike: nobody waits.
    if (rank != 0) return 2;
    return Fail(0,
                absl::InvalidArgumentError(absl::StrCat(
                    "--mpi runs one scenario at a time; this file has ", set.runs.size(),
                    " runs (a base and variants): pick one with --variant LABEL")),
                2);
  }
  const Scenario& scenario = set.runs[0].scenario;
  if (rank != 0) return ServeRank(**session, scenario);

  MpiChannel channel(session->get());
  RemoteTraining remote(&channel);
  options.remote = &remote;
  absl::StatusOr<ComparisonReport> report = RunScenarioSet(set, options);
  // Whatever happened, the workers must stop, or mpirun never ends.
  const absl::Status stopped = channel.StopWorkers();
  if (!report.ok()) return Fail(0, report.status(), 1);
  if (!stopped.ok()) return Fail(0, stopped, 1);
  if (options.out != nullptr && remote.ranks() > 1) {
    const std::vector<int64_t> trained = remote.trained_per_rank();
    std::fprintf(options.out, "MPI: %d ranks; devices trained by ranks 1..%d: %s\n", remote.ranks(),
                 remote.ranks() - 1, absl::StrJoin(trained.begin() + 1, trained.end(), ", ").c_str());
  }
  return 0;
}

}  // namespace fedge
