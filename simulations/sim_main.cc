// fedge-sim: simulated federations on one machine.
//
//   fedge-sim run SCENARIO.toml [--workers N] [--rounds N] [--seed S] [--out-dir DIR] [--name NAME]
//                 [--transport inprocess|grpc] [--state-dir DIR] [--resume | --new-run] [--mpi] [-v]
//   fedge-sim validate SCENARIO.toml
//
// `run` writes rounds.csv, summary.json and report.html to
// <out_dir>/<name>/ and prints a summary; a scenario with [[variant]] tables
// runs every variant with the same seed, reports each to
// <out_dir>/<name>/<variant>/ and compares them in <out_dir>/<name>/
// (`--variant LABEL` runs only that one). With a state directory
// ([run] state_dir or --state-dir) an interrupted run continues with
// --resume. Under mpirun, --mpi splits each round's training over the
// ranks (simulations/mpi_run.h). See simulations/README.md.
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <optional>
#include <string>

#include "CLI/CLI.hpp"
#include "core/fault_injection.h"
#include "core/logging.h"
#include "core/malloc_tuning.h"
#include "models/threads.h"
#include "models/zoo.h"
#include "simulations/mpi_run.h"
#include "simulations/run_variants.h"
#include "simulations/scenario.h"
#include "simulations/simulator.h"
#include "simulations/variants.h"

namespace {

struct Overrides {
  std::optional<int> workers;
  std::optional<int64_t> rounds;
  std::optional<uint64_t> seed;
  std::optional<std::string> out_dir;
  std::optional<std::string> name;
  std::optional<std::string> variant;
  std::optional<std::string> state_dir;
};

absl::StatusOr<fedge::ScenarioSet> Load(const std::string& path, const Overrides& o) {
  fedge::ScenarioChecks checks;
  for (const fedge::ModelInfo& m : fedge::ModelZoo()) checks.known_models.push_back(m.name);
  absl::StatusOr<fedge::ScenarioSet> set = fedge::LoadScenarioSet(path, checks);
  if (!set.ok()) return set;
  for (fedge::ScenarioVariant& run : set->runs) {
    fedge::Scenario& s = run.scenario;
    if (o.workers) s.run.workers = *o.workers;
    if (o.rounds) s.federation.rounds = *o.rounds;
    if (o.seed) s.seed = *o.seed;
    if (o.out_dir) s.run.out_dir = *o.out_dir;
    if (o.name) s.name = *o.name;
    if (o.state_dir) s.run.state_dir = *o.state_dir;
  }
  if (o.variant) {
    std::erase_if(set->runs, [&](const fedge::ScenarioVariant& run) { return run.label != *o.variant; });
    if (set->runs.empty()) return absl::InvalidArgumentError("--variant: the scenario has no run labelled '" + *o.variant + "'");
  }
  return set;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread allocates. fedge-sim allocates with mimalloc
  // (cmake/FedgeMimalloc.cmake), which this leaves alone; built on glibc's
  // malloc (-DFEDGE_USE_MIMALLOC=OFF), the training steps then reuse freed
  // memory instead of faulting fresh pages in (core/malloc_tuning.h).
  fedge::KeepFreedMemoryForReuse();
  CLI::App app("fedge-sim: simulated federated learning on one machine. Keys: docs/configuration.md");
  app.require_subcommand(1);
  std::string path;
  Overrides o;
  bool verbose = false;
  std::string transport = "inprocess";

  CLI::App* run = app.add_subcommand("run", "run a scenario and write its report");
  run->add_option("scenario", path, "scenario TOML file")->required()->check(CLI::ExistingFile);
  run->add_option("--workers", o.workers, "devices trained concurrently (default: the scenario's run.workers)")
      ->check(CLI::Range(1, 1024));
  run->add_option("--rounds", o.rounds, "rounds to run (default: the scenario's federation.rounds)")->check(CLI::Range(1, 1000000));
  run->add_option("--seed", o.seed, "seed (default: the scenario's seed)");
  run->add_option("--out-dir", o.out_dir, "report root folder (default: the scenario's run.out_dir)");
  run->add_option("--name", o.name, "run name, the report subfolder (default: the scenario's name)");
  run->add_option("--transport", transport, "how devices reach the coordinator: inprocess or grpc (TLS over 127.0.0.1)")
      ->capture_default_str()
      ->check(CLI::IsMember({"inprocess", "grpc"}));
  run->add_option("--variant", o.variant, "run only the base or variant with this label");
  bool resume = false, new_run = false;
  run->add_option("--state-dir", o.state_dir,
                  "durable state: the run survives Ctrl-C or a crash and continues with --resume "
                  "(default: the scenario's run.state_dir)");
  CLI::Option* resume_flag =
      run->add_flag("--resume", resume, "continue the run stored in the state directory where it stopped");
  run->add_flag("--new-run", new_run, "discard the run stored in the state directory and start again")
      ->excludes(resume_flag);
  bool mpi = false;
  run->add_flag("--mpi", mpi,
                "under mpirun: rank 0 runs the federation, every rank trains part of each cohort "
                "(same results as without; simulations/README.md, \"Over MPI\")");
  run->add_flag("-v,--verbose", verbose, "log coordinator and device events");

  CLI::App* validate = app.add_subcommand("validate", "check a scenario file and print it as JSON");
  validate->add_option("scenario", path, "scenario TOML file")->required()->check(CLI::ExistingFile);

  CLI11_PARSE(app, argc, argv);

  absl::StatusOr<fedge::ScenarioSet> set = Load(path, o);
  if (!set.ok()) {
    std::fprintf(stderr, "fedge-sim: invalid scenario:\n%s\n", std::string(set.status().message()).c_str());
    return 2;
  }
  if (run->parsed() && (resume || new_run) && set->runs[0].scenario.run.state_dir.empty()) {
    std::fprintf(stderr, "fedge-sim: %s needs a state directory: set [run] state_dir or --state-dir\n",
                 resume ? "--resume" : "--new-run");
    return 2;
  }
  if (validate->parsed()) {
    const nlohmann::json out =
        set->has_variants ? fedge::ScenarioSetToJson(*set) : fedge::ScenarioToJson(set->runs[0].scenario);
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  const fedge::Scenario* scenario = &set->runs[0].scenario;
  // Thread counts are process-wide: one thread per device, parallelism
  // comes from training devices concurrently.
  fedge::SetComputeThreads(scenario->run.torch_threads);
  fedge::SetMinLogLevel(verbose ? fedge::LogLevel::kInfo : fedge::LogLevel::kError);
  absl::StatusOr<fedge::FaultPoint> fault_point = fedge::FaultInjectionFromEnv();  // crash tests only
  if (!fault_point.ok()) {
    std::fprintf(stderr, "fedge-sim: %s\n", fault_point.status().ToString().c_str());
    return 2;
  }
  const fedge::RunOptions options{.out = stderr,
                                  .tty = isatty(fileno(stderr)) == 1,
                                  .transport = *fedge::ParseTransportKind(transport),
                                  .resume = resume,
                                  .new_run = new_run,
                                  .fault_point = *fault_point};
  if (mpi) return fedge::RunScenarioSetOverMpi(*set, options);
  absl::StatusOr<fedge::ComparisonReport> report = fedge::RunScenarioSet(*set, options);
  if (!report.ok()) {
    std::fprintf(stderr, "fedge-sim: %s\n", report.status().ToString().c_str());
    return 1;
  }
  return 0;
}
