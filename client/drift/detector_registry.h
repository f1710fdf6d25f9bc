// File: client/drift/detector_registry.h
//
// Drift detectors by name. Every detector registers itself, in its own .cc
// file, with a name and an options reader, so the device's configuration
// (fedge-device's `[drift.detector]`, the simulator's scenario table of the
// same name) chooses a detector without a central list or a union of every
// detector's options:
//
//   [drift.detector]
//   name = "adwin"                 # default "page_hinkley"
//   [drift.detector.adwin]         # the detector's own options
//   delta = 0.002                  # absent keys: the option struct's defaults
//
// The table holding `name` may carry other keys (the monitor's: signal,
// cooldown_samples, ...); the caller reads those.
//
// Adding a detector: a reader building its options struct from its table
// and returning MakeDetectorSpec<MyDetector>(...), registered from a
// namespace-scope initialiser in the detector's .cc:
//   const bool kRegistered = RegisterDetector({.name = "mine", .read = &ReadMine});
// fedge::drift is linked as a whole archive (fedge_cc_library WHOLE_ARCHIVE)
// so the built-in registrations always run; a detector in a test's or
// binary's own sources is linked anyway.
//
// Thread-safety: register only during static initialisation; afterwards the
// registry is read-only and safe to use concurrently.
#ifndef FEDGE_CLIENT_DRIFT_DETECTOR_REGISTRY_H_
#define FEDGE_CLIENT_DRIFT_DETECTOR_REGISTRY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "client/drift/detector.h"
#include "core/config.h"

namespace fedge {

// A detector chosen and configured.
struct DetectorSpec {
  std::string name;
  // Every option with its effective value (booleans as 0/1), for reports.
  std::vector<std::pair<std::string, double>> options;
  // Builds a new detector in its initial state; the options were validated
  // when read, so this cannot fail.
  std::function<std::unique_ptr<DriftDetector>()> create;
};

// Reads a detector's own table (possibly absent: the defaults). Problems are
// recorded on `table` and the reader returns nullopt.
using DetectorOptionsReader = std::optional<DetectorSpec> (*)(ConfigSection table);

struct DetectorRegistration {
  std::string name;
  DetectorOptionsReader read = nullptr;
};

// Adds a detector. Returns true, for a namespace-scope initialiser. A
// duplicate name or a missing reader aborts (a programming error).
bool RegisterDetector(DetectorRegistration registration);

// Every registered name, sorted.
std::vector<std::string> RegisteredDetectorNames();

// Reads `name` (default "page_hinkley") from `table` and the chosen
// detector's options from the sub-table named after it; sub-tables of other
// registered detectors are read (typos reported) but unused. Detector
// options written directly in `table` (the layout before sub-tables) are
// refused with the key that replaced them. Problems recorded on `table`.
std::optional<DetectorSpec> ReadDetectorTable(ConfigSection table);

// ReadDetectorTable over TOML text, e.g.
// "name = \"adwin\"\n[adwin]\ndelta = 0.01". kInvalidArgument listing every
// problem.
absl::StatusOr<DetectorSpec> ParseDetectorSpec(std::string_view toml);

// Page-Hinkley with its defaults (an empty table).
DetectorSpec DefaultDetectorSpec();

// --- For detector implementations --------------------------------------------

// Reads a number option, checking only its type; ranges are the detector's
// own validation (one place for every reader).
void ReadDetectorOption(ConfigSection& table, std::string_view key, double* out);
void ReadDetectorOption(ConfigSection& table, std::string_view key, int64_t* out);
void ReadDetectorOption(ConfigSection& table, std::string_view key, int* out);

// The spec for `options`, validated by DetectorT::Create (a failure is
// recorded on `table`).
template <typename DetectorT, typename OptionsT>
std::optional<DetectorSpec> MakeDetectorSpec(ConfigSection& table, const OptionsT& options,
                                             std::vector<std::pair<std::string, double>> shown) {
  if (auto probe = DetectorT::Create(options); !probe.ok()) {
    table.Error(std::string(probe.status().message()));
    return std::nullopt;
  }
  return DetectorSpec{.name = std::string(DetectorT::kName),
                      .options = std::move(shown),
                      .create = [options]() -> std::unique_ptr<DriftDetector> {
                        return *DetectorT::Create(options);
                      }};
}

}  // namespace fedge

#endif  // FEDGE_CLIENT_DRIFT_DETECTOR_REGISTRY_H_
