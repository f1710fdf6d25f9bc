#include "client/device_conditions.h"

#include <filesystem>
#include <optional>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/file_util.h"

namespace fedge {
namespace {

// One attribute file of a power supply, trimmed; nullopt when unreadable.
std::optional<std::string> Attribute(const std::filesystem::path& supply, const char* name) {
  absl::StatusOr<std::string> text = ReadFile((supply / name).string());
  if (!text.ok()) return std::nullopt;
  return std::string(absl::StripAsciiWhitespace(*text));
}

struct PowerState {
  bool on_mains = false;
  std::optional<double> battery_percent;  // lowest charge of the batteries present
};

PowerState ReadPower(const std::string& dir) {
  PowerState power;
  std::error_code error;
  std::filesystem::directory_iterator it(dir, error), end;
  bool any_supply = false;
  for (; !error && it != end; it.increment(error)) {
    const std::optional<std::string> type = Attribute(it->path(), "type");
    if (!type) continue;
    any_supply = true;
    if (*type == "Battery") {
      double percent = 0;
      const std::optional<std::string> capacity = Attribute(it->path(), "capacity");
      if (capacity && absl::SimpleAtod(*capacity, &percent)) {
        power.battery_percent = power.battery_percent ? std::min(*power.battery_percent, percent) : percent;
      }
      if (Attribute(it->path(), "status") == std::optional<std::string>("Charging")) power.on_mains = true;
    } else if (Attribute(it->path(), "online") == std::optional<std::string>("1")) {
      power.on_mains = true;  // Mains, USB, Wireless chargers
    }
  }
  if (!any_supply || !power.battery_percent) power.on_mains = true;  // no battery: a mains-powered machine
  return power;
}

class LinuxConditions final : public DeviceConditions {
 public:
  explicit LinuxConditions(DeviceConditionsOptions options) : options_(std::move(options)) {}

  Eligibility Check() const override {
    if (options_.metered && !options_.train_on_metered) {
      return {false, "metered link (set conditions.train_on_metered to train over it)"};
    }
    const PowerState power = ReadPower(options_.power_supply_dir);
    if (!power.on_mains) {
      if (options_.require_mains) return {false, "on battery; training needs mains power"};
      if (power.battery_percent && *power.battery_percent < options_.min_battery_percent) {
        return {false, absl::StrCat("battery at ", *power.battery_percent, "%, below ", options_.min_battery_percent, "%")};
      }
    }
    if (options_.max_load_per_core > 0) {
      if (const std::optional<double> load = LoadPerCore(); load && *load > options_.max_load_per_core) {
        return {false, absl::StrCat("busy: load ", *load, " per core, above ", options_.max_load_per_core)};
      }
    }
    return {};
  }

 private:
  std::optional<double> LoadPerCore() const {
    absl::StatusOr<std::string> text = ReadFile(options_.loadavg_path);
    double load = 0;
    if (!text.ok() || !absl::SimpleAtod(text->substr(0, text->find(' ')), &load)) return std::nullopt;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    return load / cores;
  }

  const DeviceConditionsOptions options_;
};

}  // namespace

absl::Status ValidateDeviceConditionsOptions(const DeviceConditionsOptions& o) {
  if (!(o.min_battery_percent >= 0 && o.min_battery_percent <= 100)) {
    return absl::InvalidArgumentError("conditions.min_battery_percent must be in [0, 100]");
  }
  if (!(o.max_load_per_core >= 0)) return absl::InvalidArgumentError("conditions.max_load_per_core must be >= 0");
  return absl::OkStatus();
}

absl::Status DeviceConditions::CheckBetweenBatches() const {
  const Eligibility now = Check();
  if (now.eligible) return absl::OkStatus();
  return absl::AbortedError(absl::StrCat("training interrupted: ", now.reason));
}

absl::StatusOr<std::unique_ptr<DeviceConditions>> LinuxDeviceConditions(const DeviceConditionsOptions& options) {
  if (absl::Status valid = ValidateDeviceConditionsOptions(options); !valid.ok()) return valid;
  return std::make_unique<LinuxConditions>(options);
}

}  // namespace fedge
