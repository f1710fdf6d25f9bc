#include "client/drift/detector.h"

namespace fedge {

std::string_view DriftStateName(DriftState state) {
  switch (state) {
    case DriftState::kNone:
      return "none";
    case DriftState::kWarning:
      return "warning";
    case DriftState::kDrift:
      return "drift";
  }
  return "unknown";
}

}  // namespace fedge
