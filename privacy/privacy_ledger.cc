#include "privacy/privacy_ledger.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

// Associated data of a sealed ledger: a sealed residual cannot pass for one.
constexpr std::string_view kSealContext = "fedge privacy ledger";

constexpr absl::string_view kMagic = "fedge-privacy-ledger";
constexpr int kVersion = 1;

absl::Status LineError(size_t line_number, absl::string_view reason) {
  return absl::DataLossError(absl::StrCat("privacy ledger line ", line_number, ": ", reason,
                                          "; the ledger file is corrupt (restore it from a backup; deleting it "
                                          "would forget privacy already spent)"));
}

absl::StatusOr<SgmEvent> ParseEventLine(const std::vector<absl::string_view>& fields, size_t line_number) {
  SgmEvent event;
  if (fields.size() != 4 || !absl::SimpleAtod(fields[1], &event.sample_rate) ||
      !absl::SimpleAtod(fields[2], &event.noise_multiplier) || !absl::SimpleAtoi(fields[3], &event.steps)) {
    return LineError(line_number, "expected 'event <q> <sigma> <steps>'");
  }
  if (absl::Status valid = ValidateSgmEvent(event); !valid.ok()) return LineError(line_number, valid.message());
  return event;
}

}  // namespace

std::string SerializePrivacyLedger(const std::vector<SgmEvent>& events) {
  std::string out = absl::StrCat(kMagic, " ", kVersion, "\n");
  for (const SgmEvent& e : events) {
    absl::StrAppendFormat(&out, "event %.17g %.17g %d\n", e.sample_rate, e.noise_multiplier, e.steps);
  }
  absl::StrAppend(&out, "end ", events.size(), "\n");
  return out;
}

absl::StatusOr<std::vector<SgmEvent>> ParsePrivacyLedger(std::string_view contents) {
  std::vector<absl::string_view> lines = absl::StrSplit(AsAbsl(contents), '\n');
  // A well-formed file ends with a newline, leaving one empty last piece.
  if (lines.empty() || !lines.back().empty()) return LineError(lines.size(), "missing final newline (truncated?)");
  lines.pop_back();
  if (lines.empty() || lines[0] != absl::StrCat(kMagic, " ", kVersion)) {
    return LineError(1, absl::StrCat("expected header '", kMagic, " ", kVersion, "'"));
  }
  std::vector<SgmEvent> events;
  for (size_t i = 1; i < lines.size(); ++i) {
    const std::vector<absl::string_view> fields = absl::StrSplit(lines[i], ' ');
    const size_t line_number = i + 1;
    if (fields[0] == "event") {
      FEDGE_ASSIGN_OR_RETURN(const SgmEvent event, ParseEventLine(fields, line_number));
      events.push_back(event);
    } else if (fields[0] == "end") {
      size_t count = 0;
      if (fields.size() != 2 || !absl::SimpleAtoi(fields[1], &count) || count != events.size()) {
        return LineError(line_number, absl::StrCat("expected 'end ", events.size(), "'"));
      }
      if (line_number != lines.size()) return LineError(line_number + 1, "data after 'end'");
      return events;
    } else {
      return LineError(line_number, "unknown record (expected 'event' or 'end')");
    }
  }
  return LineError(lines.size(), "missing 'end' record (truncated?)");
}

absl::StatusOr<std::string> PrivacyLedger::FileContents(const std::vector<SgmEvent>& events) const {
  std::string text = SerializePrivacyLedger(events);
  if (!seal_) return text;
  return Seal(*seal_, kSealContext, text);
}

absl::Status PrivacyLedger::Reset(const std::string& path, const SealingKey& seal) {
  if (std::filesystem::exists(path)) {
    const std::string kept = absl::StrCat(path, ".reset-", absl::ToUnixSeconds(absl::Now()));
    if (std::rename(path.c_str(), kept.c_str()) != 0) {
      return absl::UnavailableError(absl::StrCat(path, ": cannot move it to ", kept, ": ", std::strerror(errno)));
    }
    FEDGE_LOG(WARNING) << "privacy ledger " << path << " reset; the old one is kept as " << kept;
  }
  FEDGE_ASSIGN_OR_RETURN(std::string empty, Seal(seal, kSealContext, SerializePrivacyLedger({})));
  return WriteFileAtomically(path, empty);
}

absl::StatusOr<std::unique_ptr<PrivacyLedger>> PrivacyLedger::Open(std::string path, PrivacyBudget budget,
                                                                   std::optional<SealingKey> seal, bool must_exist) {
  if (!(budget.epsilon > 0 && std::isfinite(budget.epsilon))) {
    return absl::InvalidArgumentError(absl::StrCat("privacy budget epsilon must be finite and > 0, got ",
                                                   budget.epsilon));
  }
  FEDGE_RETURN_IF_ERROR(ValidateDelta(budget.delta));
  std::unique_ptr<PrivacyLedger> ledger(new PrivacyLedger(std::move(path), budget, std::move(seal)));
  absl::StatusOr<std::string> contents = ReadFile(ledger->path_);
  if (absl::IsNotFound(contents.status()) && must_exist) {
    return absl::DataLossError(absl::StrCat(AsAbsl(ledger->path_),
                                            ": the privacy ledger is missing but its sealing key is older than "
                                            "this run: it was deleted, or this is a new ledger on an existing key. "
                                            "An operator who has checked the device resets it with "
                                            "fedge-device --reset-privacy-ledger"));
  }
  if (absl::IsNotFound(contents.status())) {
    if (ledger->seal_) {
      FEDGE_ASSIGN_OR_RETURN(std::string empty, ledger->FileContents({}));
      FEDGE_RETURN_IF_ERROR(WriteFileAtomically(ledger->path_, empty));
    }
    return ledger;
  }
  if (!contents.ok()) return contents.status();
  if (ledger->seal_) {
    contents = Unseal(*ledger->seal_, kSealContext, *contents);
    if (!contents.ok()) {
      return absl::DataLossError(absl::StrCat(AsAbsl(ledger->path_), ": ", contents.status().message(),
                                              "; the device cannot trust what it has spent: an operator who has "
                                              "checked the device resets it with fedge-device --reset-privacy-ledger"));
    }
  }
  absl::StatusOr<std::vector<SgmEvent>> events = ParsePrivacyLedger(*contents);
  if (!events.ok()) {
    return absl::DataLossError(absl::StrCat(AsAbsl(ledger->path_), ": ", events.status().message()));
  }
  absl::MutexLock lock(&ledger->mu_);
  for (const SgmEvent& event : *events) {
    if (absl::Status merged = MergeEvent(event, ledger->events_); !merged.ok()) {
      return absl::DataLossError(absl::StrCat(AsAbsl(ledger->path_), ": ", merged.message(),
                                              "; the ledger file is corrupt (restore it from a backup)"));
    }
    FEDGE_RETURN_IF_ERROR(ledger->accountant_.Compose(event));
  }
  FEDGE_ASSIGN_OR_RETURN(const PrivacyGuarantee spent, ledger->accountant_.GetEpsilon(budget.delta));
  ledger->epsilon_ = spent.epsilon;
  return ledger;
}

absl::Status PrivacyLedger::MergeEvent(const SgmEvent& event, std::vector<SgmEvent>& events) {
  for (SgmEvent& e : events) {
    if (e.sample_rate == event.sample_rate && e.noise_multiplier == event.noise_multiplier) {
      if (__builtin_add_overflow(e.steps, event.steps, &e.steps)) {
        return absl::OutOfRangeError(absl::StrFormat(
            "privacy ledger: %d + %d steps at q=%g, sigma=%g overflow the step counter", e.steps, event.steps,
            event.sample_rate, event.noise_multiplier));
      }
      return absl::OkStatus();
    }
  }
  events.push_back(event);
  return absl::OkStatus();
}

absl::StatusOr<RdpAccountant> PrivacyLedger::ComposedWith(const SgmEvent& event) const {
  RdpAccountant prospective = accountant_;
  FEDGE_RETURN_IF_ERROR(prospective.Compose(event));
  return prospective;
}

absl::StatusOr<double> PrivacyLedger::EpsilonIfSpent(double sample_rate, double noise_multiplier,
                                                     int64_t steps) const {
  absl::ReaderMutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(const RdpAccountant after, ComposedWith({sample_rate, noise_multiplier, steps}));
  FEDGE_ASSIGN_OR_RETURN(const PrivacyGuarantee g, after.GetEpsilon(budget_.delta));
  return g.epsilon;
}

absl::Status PrivacyLedger::Charge(double sample_rate, double noise_multiplier, int64_t steps) {
  const SgmEvent event{sample_rate, noise_multiplier, steps};
  absl::MutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(RdpAccountant accountant, ComposedWith(event));
  FEDGE_ASSIGN_OR_RETURN(const PrivacyGuarantee after, accountant.GetEpsilon(budget_.delta));
  if (after.epsilon > budget_.epsilon) {
    return absl::ResourceExhaustedError(absl::StrFormat(
        "privacy budget exceeded: spent epsilon %.6g, this task (q=%g, sigma=%g, steps=%d) would bring it to "
        "%.6g, over the budget epsilon %.6g at delta %g",
        epsilon_, sample_rate, noise_multiplier, steps, after.epsilon, budget_.epsilon, budget_.delta));
  }
  std::vector<SgmEvent> events = events_;
  FEDGE_RETURN_IF_ERROR(MergeEvent(event, events));
  FEDGE_ASSIGN_OR_RETURN(std::string contents, FileContents(events));
  FEDGE_RETURN_IF_ERROR(WriteFileAtomically(path_, contents));
  events_ = std::move(events);
  accountant_ = std::move(accountant);
  epsilon_ = after.epsilon;
  return absl::OkStatus();
}

double PrivacyLedger::Epsilon() const {
  absl::ReaderMutexLock lock(&mu_);
  return epsilon_;
}

std::vector<SgmEvent> PrivacyLedger::events() const {
  absl::ReaderMutexLock lock(&mu_);
  return events_;
}

}  // namespace fedge
