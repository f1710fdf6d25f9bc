#include "client/data/data_source.h"

#include "core/logging.h"

namespace fedge {

RawExample SourceExample::View(absl::Time arrival_time) const {
  if (!bytes.empty()) return RawExample::Bytes(bytes, label, arrival_time);
  return RawExample::Floats(features, label, arrival_time);
}

void ReportProblem(const ProblemSink& sink, std::string_view message) {
  if (sink) {
    sink(message);
  } else {
    FEDGE_LOG(WARNING) << message;
  }
}

}  // namespace fedge
