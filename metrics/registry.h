// File: metrics/registry.h
//
// Metrics in the Prometheus text exposition format (version 0.0.4), without
// a client library (Debian 12 ships none for C++). A `Registry` owns metric
// families — counters, gauges and histograms, each with fixed label names —
// and renders them all for a scrape. Scrape hooks run first, so values that
// are cheaper to read than to track (the number of devices, the ε they
// spent) are set from a snapshot at scrape time.
//
// Usage:
//   metrics::Registry registry;
//   metrics::Family<metrics::Counter>& rejected = registry.AddCounter(
//       "fedge_updates_rejected_total", "Updates refused by the coordinator, by reason.", {"reason"});
//   rejected.WithLabels({"corrupt"}).Increment();
//   std::string text = registry.Render();   // what GET /metrics returns
//
// Names must match [a-zA-Z_:][a-zA-Z0-9_:]* and label names
// [a-zA-Z_][a-zA-Z0-9_]* (not starting with "__"); a bad name is a
// programming error and aborts, since every name is a literal
// in the code. Label values are any UTF-8 and are escaped on output.
//
// Thread-safety: every method may be called concurrently. Series are
// created on first use and live as long as the registry; references to
// them stay valid.
#ifndef FEDGE_METRICS_REGISTRY_H_
#define FEDGE_METRICS_REGISTRY_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace fedge::metrics {

// A value that only goes up (Prometheus resets are process restarts).
class Counter {
 public:
  // REQUIRES: by >= 0 (a negative amount is ignored).
  void Increment(double by = 1);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed upper bounds (cumulative on output), with
// their sum and count.
class Histogram {
 public:
  // REQUIRES: `bounds` strictly increasing and finite (checked by the family).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<double> bounds;
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Take() const;

 private:
  const std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::vector<uint64_t> counts_ ABSL_GUARDED_BY(mu_);  // per bucket (not cumulative), then +Inf
  double sum_ ABSL_GUARDED_BY(mu_) = 0;
};

enum class Type { kCounter, kGauge, kHistogram };

// All series of one metric name, keyed by their label values.
template <typename Metric>
class Family {
 public:
  // The series with these label values (one per label name), created on
  // first use. REQUIRES: values.size() == label_names().size().
  Metric& WithLabels(const std::vector<std::string>& values);
  // The series of a family without labels.
  Metric& Get() { return WithLabels({}); }
  // Gauges only: sets every existing series, e.g. to 0 before a scrape hook
  // sets the label values that still exist (a model version no device
  // serves any more then reads 0 instead of its last count).
  void SetAll(double value);

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  const std::vector<std::string>& label_names() const { return label_names_; }
  // Every series, ordered by label values (for rendering).
  std::vector<std::pair<std::vector<std::string>, const Metric*>> Series() const;

 private:
  friend class Registry;
  Family(std::string name, std::string help, std::vector<std::string> label_names, std::vector<double> bounds = {})
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)),
        bounds_(std::move(bounds)) {}

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
  mutable absl::Mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> series_ ABSL_GUARDED_BY(mu_);
};

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Adds a family; a name may be added once (else aborts). Counter names
  // should end in "_total" (the convention promtool checks).
  Family<Counter>& AddCounter(std::string name, std::string help, std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> label_names = {});
  // `bounds`: the buckets' upper bounds, strictly increasing and finite;
  // +Inf is implied.
  Family<Histogram>& AddHistogram(std::string name, std::string help, std::vector<double> bounds,
                                  std::vector<std::string> label_names = {});

  // Runs before every Render, in the order added (e.g. to set gauges from
  // a snapshot). The hook must not call Render.
  void AddScrapeHook(std::function<void()> hook);

  // The text exposition of every family, in the order they were added.
  std::string Render();

 private:
  struct Entry {
    Type type = Type::kCounter;
    std::unique_ptr<Family<Counter>> counter = nullptr;
    std::unique_ptr<Family<Gauge>> gauge = nullptr;
    std::unique_ptr<Family<Histogram>> histogram = nullptr;
  };
  void CheckNew(const std::string& name, const std::vector<std::string>& label_names)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::vector<Entry> families_ ABSL_GUARDED_BY(mu_);
  std::vector<std::function<void()>> hooks_ ABSL_GUARDED_BY(mu_);
};

// Exposed for tests: a label value or HELP text escaped as the format wants.
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
// A sample value: integers without a fraction, others as the shortest text
// that reads back as the same double ("0.0025"), "NaN", "+Inf", "-Inf".
std::string FormatValue(double value);

}  // namespace fedge::metrics

#endif  // FEDGE_METRICS_REGISTRY_H_
