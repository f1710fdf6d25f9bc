#include "simulations/sim_state.h"

#include <sys/stat.h>

#include <cmath>
#include <filesystem>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/file_util.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

namespace fs = std::filesystem;

// absl::Time's resolution: a quarter of a nanosecond.
const absl::Duration kTick = absl::Nanoseconds(1) / 4;

// Every RoundRow field by name; a new field is one line here.
using Field = std::variant<double RoundRow::*, int64_t RoundRow::*, uint64_t RoundRow::*, bool RoundRow::*>;
const std::vector<std::pair<const char*, Field>>& Fields() {
  static const auto* fields = new std::vector<std::pair<const char*, Field>>{
      {"round", &RoundRow::round},
      {"succeeded", &RoundRow::succeeded},
      {"test_accuracy", &RoundRow::test_accuracy},
      {"test_loss", &RoundRow::test_loss},
      {"participants", &RoundRow::participants},
      {"selected", &RoundRow::selected},
      {"dropped", &RoundRow::dropped},
      {"rejected", &RoundRow::rejected},
      {"malicious", &RoundRow::malicious},
      {"bytes_up", &RoundRow::bytes_up},
      {"bytes_down", &RoundRow::bytes_down},
      {"compression_ratio", &RoundRow::compression_ratio},
      {"epsilon_device_median", &RoundRow::epsilon_device_median},
      {"epsilon_device_max", &RoundRow::epsilon_device_max},
      {"client_epsilon", &RoundRow::client_epsilon},
      {"drift_progress", &RoundRow::drift_progress},
      {"drift_alarms", &RoundRow::drift_alarms},
      {"alarms_drifted", &RoundRow::alarms_drifted},
      {"alarms_undrifted", &RoundRow::alarms_undrifted},
      {"drifting_devices", &RoundRow::drifting_devices},
      {"drifted_devices", &RoundRow::drifted_devices},
      {"drift_detected", &RoundRow::drift_detected},
      {"false_alarm_devices", &RoundRow::false_alarm_devices},
      {"drifted_accuracy", &RoundRow::drifted_accuracy},
      {"deployed_version", &RoundRow::deployed_version},
      {"devices_serving_deployed", &RoundRow::devices_serving_deployed},
      {"deploy_teacher_accuracy", &RoundRow::deploy_teacher_accuracy},
      {"deploy_student_accuracy", &RoundRow::deploy_student_accuracy},
      {"deploy_int8_accuracy", &RoundRow::deploy_int8_accuracy},
      {"deploy_artifact_bytes", &RoundRow::deploy_artifact_bytes},
      {"deploy_size_ratio", &RoundRow::deploy_size_ratio},
      {"rollout_version", &RoundRow::rollout_version},
      {"rollout_stage", &RoundRow::rollout_stage},
      {"rollout_state", &RoundRow::rollout_state},
      {"rollout_advanced", &RoundRow::rollout_advanced},
      {"rollout_aborted", &RoundRow::rollout_aborted},
      {"serving_rollout_version", &RoundRow::serving_rollout_version},
      {"serving_previous_version", &RoundRow::serving_previous_version},
      {"serving_other_version", &RoundRow::serving_other_version},
      {"secagg_bytes_up_per_device", &RoundRow::secagg_bytes_up_per_device},
      {"secagg_bytes_down_per_device", &RoundRow::secagg_bytes_down_per_device},
      {"secagg_stage_seconds", &RoundRow::secagg_stage_seconds},
      {"sim_time_s", &RoundRow::sim_time_s},
      {"wall_time_s", &RoundRow::wall_time_s},
  };
  return *fields;
}

// Leaves of a JSON object as dotted keys; arrays are leaves.
void Flatten(const nlohmann::json& j, const std::string& prefix, RunConfig& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) Flatten(v, prefix.empty() ? k : absl::StrCat(prefix, ".", k), out);
  } else {
    out[prefix] = j.dump();
  }
}

absl::Status CopyTree(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(to, ec);
  if (!ec && fs::exists(from)) fs::copy(from, to, fs::copy_options::recursive, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot copy ", from.string(), " to ", to.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

absl::Status CopyOrRemove(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  if (fs::exists(from)) {
    fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  } else {
    fs::remove(to, ec);
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot restore ", to.string(), ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status WriteSecret(const std::string& path, std::string_view bytes) {
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(path, bytes));
  if (chmod(path.c_str(), 0600) != 0) return absl::UnavailableError(absl::StrCat("cannot chmod 0600 ", path));
  return absl::OkStatus();
}

}  // namespace

std::string EncodeExactTime(absl::Time t) {
  if (t == absl::InfinitePast()) return "-inf";
  absl::Duration rest;
  const int64_t seconds = absl::IDivDuration(t - absl::UnixEpoch(), absl::Seconds(1), &rest);
  if (rest < absl::ZeroDuration()) return absl::StrCat(seconds - 1, ":", absl::IDivDuration(rest + absl::Seconds(1), kTick, &rest));
  return absl::StrCat(seconds, ":", absl::IDivDuration(rest, kTick, &rest));
}

absl::StatusOr<absl::Time> DecodeExactTime(std::string_view text) {
  if (text == "-inf") return absl::InfinitePast();
  const size_t colon = text.find(':');
  int64_t seconds = 0, ticks = 0;
  if (colon == std::string_view::npos || !absl::SimpleAtoi(AsAbsl(text.substr(0, colon)), &seconds) ||
      !absl::SimpleAtoi(AsAbsl(text.substr(colon + 1)), &ticks) || ticks < 0 || ticks >= 4'000'000'000) {
    return absl::DataLossError(absl::StrCat("'", AsAbsl(text), "' is not a time (seconds:quarter-nanoseconds)"));
  }
  return absl::UnixEpoch() + absl::Seconds(seconds) + ticks * kTick;
}

RunConfig SimulationRunConfig(const Scenario& scenario) {
  RunConfig config;
  Flatten(ScenarioToJson(scenario), "", config);
  for (const char* free : {"run.workers", "run.out_dir", "run.state_dir", "federation.rounds"}) config.erase(free);
  return config;
}

absl::Status CheckResumable(const Scenario& s) {
  auto refuse = [](const char* table, const char* why) {
    return absl::FailedPreconditionError(absl::StrCat(
        "[run] state_dir: ", table, " is not resumable yet (", why,
        "); remove state_dir (and --resume) or the ", table, " table"));
  };
  if (s.async_mode()) {
    return refuse("federation.mode = \"async\"", "the devices in training between server steps are not stored");
  }
  if (s.drift.enabled()) return refuse("[drift]", "the devices' data streams and drift monitors are not stored");
  if (s.deploy.enabled()) {
    return refuse("[deploy]", "the devices' installed int8 models and the warm-started student are not stored");
  }
  if (s.client_dp.enabled) {
    return refuse("[client_dp]", "the position of the simulated coordinator's noise generator is not stored, so a "
                                 "resumed run would not draw the noise an uninterrupted one draws");
  }
  if (s.secagg.enabled) {
    return refuse("[secagg]", "a round's secure-aggregation sessions live in memory and the graph seeds' generator "
                              "is not stored");
  }
  return absl::OkStatus();
}

nlohmann::json RoundRowsToJson(const std::vector<RoundRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const RoundRow& row : rows) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& entry : Fields()) {
      const auto& name = entry.first;  // clang 14 cannot capture a structured binding
      std::visit(
          [&](auto member) {
            const auto v = row.*member;
            if constexpr (std::is_same_v<decltype(v), const double>) {
              if (std::isnan(v)) {
                j[name] = nullptr;
                return;
              }
            }
            j[name] = v;
          },
          entry.second);
    }
    out.push_back(std::move(j));
  }
  return out;
}

absl::StatusOr<std::vector<RoundRow>> RoundRowsFromJson(const nlohmann::json& json) {
  if (!json.is_array()) return absl::DataLossError("round rows: expected a JSON array");
  std::vector<RoundRow> rows;
  for (const nlohmann::json& j : json) {
    RoundRow row;
    for (const auto& [name, field] : Fields()) {
      if (!j.is_object() || !j.contains(name)) {
        return absl::DataLossError(absl::StrCat("round rows: row ", rows.size() + 1, " has no '", name, "'"));
      }
      const nlohmann::json& v = j.at(name);
      std::visit(
          [&](auto member) {
            using T = std::remove_reference_t<decltype(row.*member)>;
            if constexpr (std::is_same_v<T, double>) {
              row.*member = v.is_null() ? NAN : v.get<double>();
            } else {
              row.*member = v.get<T>();
            }
          },
          field);
    }
    rows.push_back(row);
  }
  return rows;
}

absl::StatusOr<SimState> SimState::Open(const std::string& state_dir) {
  const std::string dir = absl::StrCat(state_dir, "/simulation");
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "devices", ec);
  if (!ec) fs::create_directories(fs::path(dir) / "ledgers", ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  return SimState(dir);
}

absl::Status SimState::Clear() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot remove ", dir_, ": ", ec.message()));
  FEDGE_ASSIGN_OR_RETURN(SimState fresh, Open(fs::path(dir_).parent_path().string()));
  *this = std::move(fresh);
  return absl::OkStatus();
}

std::string SimState::DevicesDir() const { return absl::StrCat(dir_, "/devices"); }
std::string SimState::DeviceStateDir(const std::string& id) const { return absl::StrCat(DevicesDir(), "/", id); }
std::string SimState::LedgerDir() const { return absl::StrCat(dir_, "/ledgers"); }
std::string SimState::LedgerPath(const std::string& id) const { return absl::StrCat(LedgerDir(), "/", id, ".ledger"); }

absl::StatusOr<SigningKey> SimState::LoadOrCreateSigningKey() const {
  const std::string path = absl::StrCat(dir_, "/signing.pem");
  if (fs::exists(path)) return SigningKey::FromPemFile(path);
  FEDGE_ASSIGN_OR_RETURN(SigningKey key, SigningKey::Generate());
  FEDGE_RETURN_IF_ERROR(WriteSecret(path, key.ToPem()));
  return key;
}

absl::StatusOr<SealingKey> SimState::LoadOrCreateSealingKey() const {
  const std::string path = absl::StrCat(dir_, "/sealing.key");
  if (fs::exists(path)) {
    FEDGE_ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
    return SealingKey::FromBytes(bytes);
  }
  FEDGE_ASSIGN_OR_RETURN(SealingKey key, SealingKey::Generate());
  FEDGE_RETURN_IF_ERROR(WriteSecret(path, key.bytes()));
  return key;
}

absl::StatusOr<SimState::Progress> SimState::LoadProgress() const {
  const std::string path = absl::StrCat(dir_, "/rows.json");
  if (!fs::exists(path)) return Progress{};
  FEDGE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto damaged = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat(path, " is damaged (", why, "); start over with --new-run"));
  };
  if (json.is_discarded() || !json.is_object() || !json.contains("rows") || !json.contains("clock") ||
      !json["clock"].is_string()) {
    return damaged("not the expected JSON");
  }
  absl::StatusOr<std::vector<RoundRow>> rows = RoundRowsFromJson(json["rows"]);
  if (!rows.ok()) return damaged(rows.status().message());
  absl::StatusOr<absl::Time> clock = DecodeExactTime(json["clock"].get<std::string>());
  if (!clock.ok()) return damaged(clock.status().message());
  return Progress{*std::move(rows), *clock};
}

absl::Status SimState::SaveProgress(const Progress& progress) const {
  nlohmann::json json = {{"clock", EncodeExactTime(progress.clock)}, {"rows", RoundRowsToJson(progress.rows)}};
  return WriteFileAtomically(absl::StrCat(dir_, "/rows.json"), json.dump(1));
}

absl::Status SimState::SaveRoundEnd(const RoundEnd& end) const {
  const nlohmann::json json = {{"last_arrival", EncodeExactTime(end.last_arrival)},
                               {"deadline", EncodeExactTime(end.deadline)},
                               {"target", end.target}};
  return WriteFileAtomically(absl::StrCat(dir_, "/undo/round_end.json"), json.dump());
}

absl::StatusOr<std::optional<SimState::RoundEnd>> SimState::LoadRoundEnd() const {
  const std::string path = absl::StrCat(dir_, "/undo/round_end.json");
  if (!fs::exists(path)) return std::optional<RoundEnd>();
  FEDGE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object() || !json.contains("target") || !json["target"].is_number_integer() ||
      !json.contains("last_arrival") || !json["last_arrival"].is_string() || !json.contains("deadline") ||
      !json["deadline"].is_string()) {
    return absl::DataLossError(absl::StrCat(path, " is damaged; start over with --new-run"));
  }
  RoundEnd end;
  FEDGE_ASSIGN_OR_RETURN(end.last_arrival, DecodeExactTime(json["last_arrival"].get<std::string>()));
  FEDGE_ASSIGN_OR_RETURN(end.deadline, DecodeExactTime(json["deadline"].get<std::string>()));
  end.target = json["target"].get<int64_t>();
  return end;
}

absl::Status SimState::BeginRound(int64_t round, const std::vector<std::string>& device_ids) const {
  FEDGE_RETURN_IF_ERROR(EndRound());
  const fs::path undo = fs::path(dir_) / "undo";
  for (const std::string& id : device_ids) {
    FEDGE_RETURN_IF_ERROR(CopyTree(DeviceStateDir(id), undo / id / "state"));
    FEDGE_RETURN_IF_ERROR(CopyOrRemove(LedgerPath(id), undo / id / "ledger"));
  }
  // Written last: an undo log without it was never needed (nothing ran).
  return WriteFileAtomically((undo / "round").string(), absl::StrCat(round));
}

absl::StatusOr<int64_t> SimState::UndoRound() const {
  const std::string path = absl::StrCat(dir_, "/undo/round");
  if (!fs::exists(path)) return 0;
  FEDGE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  int64_t round = 0;
  if (!absl::SimpleAtoi(text, &round) || round < 1) return absl::DataLossError(absl::StrCat(path, " is damaged"));
  return round;
}

absl::Status SimState::Undo(const absl::flat_hash_set<std::string>& keep_state, bool keep_ledgers) const {
  const fs::path undo = fs::path(dir_) / "undo";
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(undo, ec)) {
    if (!e.is_directory()) continue;
    const std::string id = e.path().filename().string();
    if (!keep_state.contains(id)) FEDGE_RETURN_IF_ERROR(CopyTree(e.path() / "state", DeviceStateDir(id)));
    if (!keep_ledgers) FEDGE_RETURN_IF_ERROR(CopyOrRemove(e.path() / "ledger", LedgerPath(id)));
  }
  if (ec) return absl::UnavailableError(absl::StrCat("cannot read ", undo.string(), ": ", ec.message()));
  return absl::OkStatus();
}

absl::Status SimState::EndRound() const {
  const fs::path undo = fs::path(dir_) / "undo";
  std::error_code ec;
  fs::remove(undo / "round", ec);  // first: a half-removed log is then ignored
  fs::remove_all(undo, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot remove ", undo.string(), ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace fedge
