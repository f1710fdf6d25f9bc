// ledger_fuzzer: the device's privacy ledger file (privacy/privacy_ledger.h)
// as a device reads it at start-up: ParsePrivacyLedger on the contents, then
// PrivacyLedger::Open on a file holding them (which merges events and
// composes them in the RDP accountant), then one Charge.
//
// Input: the ledger file contents, as they are (no framing).
//
// Invariants beyond "no crash, no sanitizer report":
//   - a parsed ledger round-trips: SerializePrivacyLedger of its events
//     parses to bit-identical events;
//   - Open fails with kDataLoss exactly when the contents do not parse;
//   - an opened ledger's epsilon is not NaN and not negative;
//   - a successful Charge is durable: reopening the file gives the same
//     events and the same epsilon (to rounding: merged events compose in
//     another order).
//
// The file lives in a per-process directory under /dev/shm (or $TMPDIR when
// that does not exist), so WriteFileAtomically's fsync costs nothing.
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "fuzz/fuzz_input.h"
#include "privacy/privacy_ledger.h"

namespace fedge::fuzz {
namespace {

constexpr PrivacyBudget kBudget{.epsilon = 10, .delta = 1e-5};

const std::string& LedgerPath() {
  static const std::string* path = [] {
    const std::string base =
        std::filesystem::exists("/dev/shm") ? std::string("/dev/shm") : std::filesystem::temp_directory_path().string();
    std::string dir = absl::StrCat(base, "/fedge-ledger-fuzz-XXXXXX");
    FEDGE_FUZZ_CHECK(::mkdtemp(dir.data()) != nullptr, "mkdtemp failed");
    static const std::string cleanup_dir = dir;
    std::atexit([] { std::filesystem::remove_all(cleanup_dir); });
    return new std::string(dir + "/ledger");
  }();
  return *path;
}

bool SameEvents(const std::vector<SgmEvent>& a, const std::vector<SgmEvent>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::memcmp(&a[i].sample_rate, &b[i].sample_rate, sizeof(double)) != 0 ||
        std::memcmp(&a[i].noise_multiplier, &b[i].noise_multiplier, sizeof(double)) != 0 ||
        a[i].steps != b[i].steps) {
      return false;
    }
  }
  return true;
}

void CheckEpsilon(double epsilon) {
  FEDGE_FUZZ_CHECK(!std::isnan(epsilon) && epsilon >= 0, absl::StrCat("epsilon ", epsilon));
}

void FuzzOne(std::string_view contents) {
  absl::StatusOr<std::vector<SgmEvent>> parsed = ParsePrivacyLedger(contents);
  if (parsed.ok()) {
    absl::StatusOr<std::vector<SgmEvent>> again = ParsePrivacyLedger(SerializePrivacyLedger(*parsed));
    FEDGE_FUZZ_CHECK(again.ok(), again.status().ToString());
    FEDGE_FUZZ_CHECK(SameEvents(*again, *parsed), "a ledger does not round-trip through its file format");
  } else {
    FEDGE_FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kDataLoss, parsed.status().ToString());
  }

  const std::string& path = LedgerPath();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    FEDGE_FUZZ_CHECK(out.good(), "could not write the ledger file");
  }
  absl::StatusOr<std::unique_ptr<PrivacyLedger>> ledger = PrivacyLedger::Open(path, kBudget);
  if (!parsed.ok()) {
    FEDGE_FUZZ_CHECK(!ledger.ok() && ledger.status().code() == absl::StatusCode::kDataLoss,
                     absl::StrCat("a ledger that does not parse opened as ", ledger.status().ToString()));
    return;
  }
  if (!ledger.ok()) return;  // parsed, but the accountant refused the composition (reported)
  CheckEpsilon((*ledger)->Epsilon());

  const absl::Status charged = (*ledger)->Charge(0.01, 1.1, 10);
  if (!charged.ok()) return;  // over budget or accountant limits: the ledger is unchanged
  CheckEpsilon((*ledger)->Epsilon());
  absl::StatusOr<std::unique_ptr<PrivacyLedger>> reopened = PrivacyLedger::Open(path, kBudget);
  FEDGE_FUZZ_CHECK(reopened.ok(), absl::StrCat("a charged ledger does not reopen: ", reopened.status().ToString()));
  FEDGE_FUZZ_CHECK(SameEvents((*reopened)->events(), (*ledger)->events()), "reopened ledger has other events");
  // Reopening composes merged events, so the sums may round differently.
  const double before = (*ledger)->Epsilon(), after = (*reopened)->Epsilon();
  FEDGE_FUZZ_CHECK(before == after || std::fabs(before - after) <= 1e-9 * std::fabs(before),
                   absl::StrCat("epsilon ", (*ledger)->Epsilon(), " became ", (*reopened)->Epsilon(), " on reopening"));
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
