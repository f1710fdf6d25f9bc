// config_fuzzer: the TOML configuration readers — core/config.h
// (ConfigFile, ConfigSection), the coordinator's config
// (coordinator/coordinator_config.h) and fedge-sim's scenario files
// (simulations/scenario.h). Config files are operator input, but they are
// copied around and edited by hand: a malformed one must give an error, not
// undefined behaviour.
//
// Input (fuzz/fuzz_input.h):
//   U8  reader   0: ConfigFile::Parse and typed reads of a fixed set of keys
//                   of every type; 1: ParseCoordinatorConfig +
//                   ValidateCoordinatorConfig; 2: ParseScenario (no data
//                   directory check) + ScenarioToJson (wraps around)
//   ... text     the rest: the TOML text
//
// Invariants beyond "no crash, no sanitizer report":
//   - errors are kInvalidArgument with a non-empty message;
//   - parsing is deterministic (the same text gives the same status);
//   - an accepted scenario serialises to JSON (summary.json) without
//     throwing.
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/coordinator_config.h"
#include "core/config.h"
#include "core/status.h"
#include "fuzz/fuzz_input.h"
#include "simulations/scenario.h"

namespace fedge::fuzz {
namespace {

void CheckError(const absl::Status& s) {
  if (s.ok()) return;
  FEDGE_FUZZ_CHECK(s.code() == absl::StatusCode::kInvalidArgument, s.ToString());
  FEDGE_FUZZ_CHECK(!s.message().empty(), "an error without a message");
}

absl::Status ReadGeneric(std::string_view text) {
  absl::StatusOr<ConfigFile> file = ConfigFile::Parse(text, "fuzz.toml");
  if (!file.ok()) return file.status();
  ConfigSection root = file->root();
  int64_t i64 = 0;
  int i32 = 0;
  double d = 0;
  bool b = false;
  std::string s;
  std::vector<double> v;
  root.Read("rounds", &i64, 0, 1000);
  root.Read("seed", &i32, -5, 5);
  root.Read("rate", &d, 0, 1);
  root.Read("enabled", &b);
  root.Read("name", &s);
  root.Read("kind", &s, {"a", "b"});
  root.Read("values", &v);
  ConfigSection table = root.Section("table");
  table.Read("x", &d, -1e300, 1e300);
  table.Section("inner").Read("y", &i64, INT64_MIN, INT64_MAX);
  for (ConfigSection item : root.Sections("items")) {
    item.Read("name", &s);
    item.Read("weight", &d, 0, 10);
    if (item.Has("bad")) item.Error("has 'bad'");
  }
  return file->Finish();
}

absl::Status ReadCoordinator(std::string_view text) {
  CoordinatorConfig config;
  FEDGE_RETURN_IF_ERROR(ParseCoordinatorConfig(text, "coordinator.toml", &config));
  return ValidateCoordinatorConfig(config);
}

absl::Status ReadScenario(std::string_view text) {
  absl::StatusOr<Scenario> scenario = ParseScenario(text, "scenario.toml", ScenarioChecks{.require_data_dir = false});
  if (!scenario.ok()) return scenario.status();
  // Serialising must not throw (nlohmann::json throws on invalid UTF-8).
  const std::string json = ScenarioToJson(*scenario).dump();
  FEDGE_FUZZ_CHECK(!json.empty(), "empty scenario JSON");
  return absl::OkStatus();
}

absl::Status Read(uint8_t reader, std::string_view text) {
  switch (reader % 3) {
    case 0: return ReadGeneric(text);
    case 1: return ReadCoordinator(text);
    default: return ReadScenario(text);
  }
}

void FuzzOne(FuzzInput& in) {
  const uint8_t reader = in.U8();
  const std::string text(in.Rest());
  const absl::Status first = Read(reader, text);
  CheckError(first);
  const absl::Status second = Read(reader, text);
  FEDGE_FUZZ_CHECK(first == second, absl::StrCat("not deterministic: ", first.ToString(), " then ", second.ToString()));
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzInput in(data, size);
  fedge::fuzz::FuzzOne(in);
  return 0;
}
