// File: simulations/round_metric.h
//
// Reading a coordinator's round record into a report row
// (simulations/report.h): the metric `name` of `record`, or `fallback` when
// the round did not record it (e.g. NaN for a round that was not evaluated).
//
// LibTorch-free. Thread-safe (a pure function).
#ifndef FEDGE_SIMULATIONS_ROUND_METRIC_H_
#define FEDGE_SIMULATIONS_ROUND_METRIC_H_

#include <string>

#include "proto/fedge.pb.h"

namespace fedge {

inline double RoundMetric(const proto::RoundRecord& record, const std::string& name, double fallback) {
  const auto it = record.metrics().find(name);
  return it == record.metrics().end() ? fallback : it->second;
}

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_ROUND_METRIC_H_
