#include "client/drift/detector_registry.h"

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

constexpr char kDefaultDetector[] = "page_hinkley";

std::map<std::string, DetectorRegistration, std::less<>>& Registry() {
  static auto* registry = new std::map<std::string, DetectorRegistration, std::less<>>();
  return *registry;
}

// The detector options that sat directly in [drift.detector] before each
// detector had its own sub-table.
constexpr const char* kFormerFlatKeys[] = {"delta",     "threshold",     "alpha",         "min_samples",
                                          "two_sided", "max_buckets",   "clock",         "min_subwindow",
                                          "warning_level", "drift_level"};

void RefuseFormerFlatKeys(ConfigSection& table, const std::string& name) {
  for (const char* key : kFormerFlatKeys) {
    if (!table.Has(key)) continue;
    table.Ignore(key);
    const std::string path = table.path().empty() ? std::string() : table.path() + ".";
    table.Error(absl::StrCat("'", path, key, "' moved to '", path, name, ".", key,
                             "': each detector's options sit in the sub-table named after it"));
  }
}

}  // namespace

bool RegisterDetector(DetectorRegistration registration) {
  if (registration.name.empty() || registration.read == nullptr) {
    std::fprintf(stderr, "RegisterDetector: a detector needs a name and an options reader\n");
    std::abort();
  }
  const std::string name = registration.name;
  if (!Registry().emplace(name, std::move(registration)).second) {
    std::fprintf(stderr, "RegisterDetector: detector \"%s\" is registered twice\n", name.c_str());
    std::abort();
  }
  return true;
}

std::vector<std::string> RegisteredDetectorNames() {
  std::vector<std::string> names;
  for (const auto& [name, registration] : Registry()) names.push_back(name);
  return names;
}

std::optional<DetectorSpec> ReadDetectorTable(ConfigSection table) {
  std::string name = kDefaultDetector;
  table.Read("name", &name, RegisteredDetectorNames());
  RefuseFormerFlatKeys(table, name);
  std::optional<DetectorSpec> chosen;
  for (const auto& [registered, registration] : Registry()) {
    if (registered != name && !table.Has(registered)) continue;
    std::optional<DetectorSpec> spec = registration.read(table.Section(registered));
    if (registered == name) chosen = std::move(spec);
  }
  return chosen;
}

absl::StatusOr<DetectorSpec> ParseDetectorSpec(std::string_view toml) {
  FEDGE_ASSIGN_OR_RETURN(ConfigFile file, ConfigFile::Parse(toml, "detector"));
  std::optional<DetectorSpec> spec = ReadDetectorTable(file.root());
  FEDGE_RETURN_IF_ERROR(file.Finish());
  if (!spec) return absl::InvalidArgumentError("detector: the options could not be read");
  return *std::move(spec);
}

DetectorSpec DefaultDetectorSpec() {
  absl::StatusOr<DetectorSpec> spec = ParseDetectorSpec("");
  if (!spec.ok()) {  // only if page_hinkley's registration was not linked
    std::fprintf(stderr, "DefaultDetectorSpec: %s\n", std::string(spec.status().message()).c_str());
    std::abort();
  }
  return *std::move(spec);
}

void ReadDetectorOption(ConfigSection& table, std::string_view key, double* out) {
  table.Read(key, out, std::numeric_limits<double>::lowest(), std::numeric_limits<double>::max());
}

void ReadDetectorOption(ConfigSection& table, std::string_view key, int64_t* out) {
  table.Read(key, out, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
}

void ReadDetectorOption(ConfigSection& table, std::string_view key, int* out) {
  table.Read(key, out, std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
}

}  // namespace fedge
