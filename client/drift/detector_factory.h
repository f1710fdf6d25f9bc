// File: client/drift/detector_factory.h
//
// Builds a `DriftDetector` by name from one plain options struct, so device
// configuration can choose the detector without naming a class.
//
// Usage:
//   DetectorOptions options;
//   options.name = "adwin";
//   options.adwin.delta = 0.002;
//   FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<DriftDetector> detector,
//                          CreateDetector(options));
#ifndef FEDGE_CLIENT_DRIFT_DETECTOR_FACTORY_H_
#define FEDGE_CLIENT_DRIFT_DETECTOR_FACTORY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "client/drift/adwin.h"
#include "client/drift/ddm.h"
#include "client/drift/detector.h"
#include "client/drift/page_hinkley.h"

namespace fedge {

// Which detector to build and its settings. Only the struct matching `name`
// is read and validated; the defaults are those of each detector's paper.
struct DetectorOptions {
  // "page_hinkley", "adwin" or "ddm".
  std::string name = "page_hinkley";
  PageHinkleyOptions page_hinkley;
  AdwinOptions adwin;
  DdmOptions ddm;
};

// The names CreateDetector accepts.
const std::vector<std::string_view>& DetectorNames();

// Returns a new detector owned by the caller. kInvalidArgument when the name
// is unknown (the message lists the valid names) or the selected detector's
// options are out of range (the message names the field).
absl::StatusOr<std::unique_ptr<DriftDetector>> CreateDetector(const DetectorOptions& options);

}  // namespace fedge

#endif  // FEDGE_CLIENT_DRIFT_DETECTOR_FACTORY_H_
