// fedge-dp: a command-line calculator for the RDP accountant.
//
//   fedge-dp epsilon --sample-rate 0.01 --noise 1.1 --steps 1000 --delta 1e-5
//   fedge-dp noise --epsilon 3 --delta 1e-5 --sample-rate 0.01 --steps 1000
//
// `--json` prints one JSON object instead of text. Invalid arguments and
// unreachable targets print a message to stderr and exit with status 2.
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "privacy/rdp_accountant.h"

namespace fedge {
namespace {

constexpr int kUsageError = 2;

struct Args {
  double sample_rate = 0;
  double noise_multiplier = 0;
  int64_t steps = 0;
  double delta = 0;
  double epsilon = 0;
  bool json = false;
};

int Fail(const absl::Status& status) {
  std::cerr << "fedge-dp: " << status.message() << "\n";
  return kUsageError;
}

int RunEpsilon(const Args& args) {
  const SgmEvent event{.sample_rate = args.sample_rate, .noise_multiplier = args.noise_multiplier, .steps = args.steps};
  const absl::StatusOr<PrivacyGuarantee> g = ComputeEpsilon(event, args.delta);
  if (!g.ok()) return Fail(g.status());
  if (args.json) {
    const nlohmann::json out = {{"epsilon", g->epsilon},          {"order", g->order},
                                {"delta", args.delta},            {"sample_rate", args.sample_rate},
                                {"noise_multiplier", args.noise_multiplier}, {"steps", args.steps}};
    std::cout << out.dump() << "\n";
  } else {
    std::cout << std::setprecision(8) << "epsilon = " << g->epsilon << " at delta = " << args.delta << " (best RDP order " << g->order
              << ")\n";
  }
  return 0;
}

int RunNoise(const Args& args) {
  const absl::StatusOr<double> sigma = FindNoiseMultiplier(args.epsilon, args.sample_rate, args.steps, args.delta);
  if (!sigma.ok()) return Fail(sigma.status());
  if (args.json) {
    const nlohmann::json out = {{"noise_multiplier", *sigma}, {"epsilon", args.epsilon},
                                {"delta", args.delta},        {"sample_rate", args.sample_rate},
                                {"steps", args.steps}};
    std::cout << out.dump() << "\n";
  } else {
    std::cout << std::setprecision(8) << "noise multiplier = " << *sigma << " for epsilon = " << args.epsilon << " at delta = " << args.delta
              << "\n";
  }
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{"fedge-dp: differential privacy calculator (RDP accountant for the sampled Gaussian mechanism)"};
  app.require_subcommand(1);
  app.fallthrough();
  Args args;
  app.add_flag("--json", args.json, "print one JSON object");

  CLI::App* eps = app.add_subcommand("epsilon", "epsilon and best RDP order for given noise");
  CLI::App* noise = app.add_subcommand("noise", "smallest noise multiplier meeting a target epsilon");
  for (CLI::App* sub : {eps, noise}) {
    sub->add_option("--sample-rate,-q", args.sample_rate, "Poisson sampling rate q per step, in [0, 1]")->required();
    sub->add_option("--steps,-T", args.steps, "number of steps (or rounds)")->required();
    sub->add_option("--delta,-d", args.delta, "target delta, in (0, 1)")->required();
  }
  eps->add_option("--noise,-s", args.noise_multiplier, "noise multiplier sigma (> 0)")->required();
  noise->add_option("--epsilon,-e", args.epsilon, "target epsilon (> 0)")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e, std::cout, std::cerr);
    return kUsageError;
  }
  return eps->parsed() ? RunEpsilon(args) : RunNoise(args);
}

}  // namespace
}  // namespace fedge

int main(int argc, char** argv) { return fedge::Main(argc, argv); }
