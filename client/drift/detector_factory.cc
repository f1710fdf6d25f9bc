#include "client/drift/detector_factory.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/strings.h"

namespace fedge {
namespace {

// Upcasts a concrete detector result to the interface.
template <typename T>
absl::StatusOr<std::unique_ptr<DriftDetector>> AsDetector(absl::StatusOr<std::unique_ptr<T>> created) {
  if (!created.ok()) return created.status();
  return std::unique_ptr<DriftDetector>(std::move(created).value());
}

}  // namespace

const std::vector<std::string_view>& DetectorNames() {
  static const auto* const kNames =
      new std::vector<std::string_view>{PageHinkley::kName, Adwin::kName, Ddm::kName};
  return *kNames;
}

absl::StatusOr<std::unique_ptr<DriftDetector>> CreateDetector(const DetectorOptions& options) {
  if (options.name == PageHinkley::kName) return AsDetector(PageHinkley::Create(options.page_hinkley));
  if (options.name == Adwin::kName) return AsDetector(Adwin::Create(options.adwin));
  if (options.name == Ddm::kName) return AsDetector(Ddm::Create(options.ddm));
  std::vector<absl::string_view> names;
  for (std::string_view name : DetectorNames()) names.push_back(AsAbsl(name));
  return absl::InvalidArgumentError(absl::StrCat("unknown drift detector \"", options.name,
                                                 "\"; expected one of: ", absl::StrJoin(names, ", ")));
}

}  // namespace fedge
