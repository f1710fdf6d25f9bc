#include "metrics/registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fedge::metrics {
namespace {

// Names are literals in the code: a bad one is a bug, found by any test.
void CheckOrDie(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "metrics: %s\n", what.c_str());
  std::abort();
}

bool ValidName(std::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (allow_colon && c == ':');
    if (!letter && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

const char* TypeName(Type type) {
  switch (type) {
    case Type::kCounter: return "counter";
    case Type::kGauge: return "gauge";
    case Type::kHistogram: return "histogram";
  }
  return "untyped";
}

// `{a="x",b="y"}` (with an extra label, e.g. le, when given); "" without labels.
std::string Labels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                   std::string_view extra_name = {}, std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < names.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", names[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra_name.empty()) {
    absl::StrAppend(&out, names.empty() ? "" : ",", std::string(extra_name), "=\"", std::string(extra_value), "\"");
  }
  return out + "}";
}

void Header(std::string& out, const std::string& name, const std::string& help, Type type) {
  absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", TypeName(type), "\n");
}

template <typename Metric>
void RenderSimple(std::string& out, const Family<Metric>& family, Type type) {
  Header(out, family.name(), family.help(), type);
  for (const auto& [values, metric] : family.Series()) {
    absl::StrAppend(&out, family.name(), Labels(family.label_names(), values), " ", FormatValue(metric->value()), "\n");
  }
}

void RenderHistogram(std::string& out, const Family<Histogram>& family) {
  Header(out, family.name(), family.help(), Type::kHistogram);
  for (const auto& [values, histogram] : family.Series()) {
    const Histogram::Snapshot s = histogram->Take();
    for (size_t b = 0; b <= s.bounds.size(); ++b) {
      const std::string le = b < s.bounds.size() ? FormatValue(s.bounds[b]) : "+Inf";
      absl::StrAppend(&out, family.name(), "_bucket", Labels(family.label_names(), values, "le", le), " ",
                      s.cumulative[b], "\n");
    }
    absl::StrAppend(&out, family.name(), "_sum", Labels(family.label_names(), values), " ", FormatValue(s.sum), "\n");
    absl::StrAppend(&out, family.name(), "_count", Labels(family.label_names(), values), " ", s.count, "\n");
  }
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string EscapeHelp(std::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) return absl::StrFormat("%.0f", value);
  // The shortest text that reads back as the same double: "0.0025", not
  // "0.0025000000000000001" (a bucket's le label is read by people too).
  char text[32];
  const std::to_chars_result end = std::to_chars(text, text + sizeof text, value);
  return std::string(text, end.ptr);
}

void Counter::Increment(double by) {
  if (by > 0) value_.fetch_add(by, std::memory_order_relaxed);
}

void Gauge::Add(double by) { value_.fetch_add(by, std::memory_order_relaxed); }

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  // The first bucket whose upper bound holds the value; NaN goes to +Inf.
  const size_t bucket = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  absl::MutexLock lock(&mu_);
  ++counts_[std::isnan(value) ? bounds_.size() : bucket];
  sum_ += value;
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  absl::MutexLock lock(&mu_);
  uint64_t running = 0;
  for (uint64_t n : counts_) s.cumulative.push_back(running += n);
  s.count = running;
  s.sum = sum_;
  return s;
}

template <typename Metric>
Metric& Family<Metric>::WithLabels(const std::vector<std::string>& values) {
  CheckOrDie(values.size() == label_names_.size(),
             absl::StrCat(name_, ": ", values.size(), " label values for ", label_names_.size(), " labels"));
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Metric>& slot = series_[values];
  if (slot == nullptr) {
    if constexpr (std::is_same_v<Metric, Histogram>) {
      slot = std::make_unique<Histogram>(bounds_);
    } else {
      slot = std::make_unique<Metric>();
    }
  }
  return *slot;
}

template <typename Metric>
std::vector<std::pair<std::vector<std::string>, const Metric*>> Family<Metric>::Series() const {
  std::vector<std::pair<std::vector<std::string>, const Metric*>> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [values, metric] : series_) out.emplace_back(values, metric.get());
  return out;
}

template <>
void Family<Gauge>::SetAll(double value) {
  absl::MutexLock lock(&mu_);
  for (auto& [values, gauge] : series_) gauge->Set(value);
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void Registry::CheckNew(const std::string& name, const std::vector<std::string>& label_names) {
  CheckOrDie(ValidName(name, /*allow_colon=*/true), absl::StrCat("bad metric name '", name, "'"));
  for (const std::string& label : label_names) {
    CheckOrDie(ValidName(label, false) && label.rfind("__", 0) != 0 && label != "le",
               absl::StrCat(name, ": bad label name '", label, "'"));
  }
  for (const Entry& e : families_) {
    const std::string& existing = e.counter ? e.counter->name() : e.gauge ? e.gauge->name() : e.histogram->name();
    CheckOrDie(existing != name, absl::StrCat("metric '", name, "' added twice"));
  }
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help, std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  CheckNew(name, label_names);
  families_.push_back({.type = Type::kCounter,
                       .counter = std::unique_ptr<Family<Counter>>(
                           new Family<Counter>(std::move(name), std::move(help), std::move(label_names)))});
  return *families_.back().counter;
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help, std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  CheckNew(name, label_names);
  families_.push_back({.type = Type::kGauge,
                       .gauge = std::unique_ptr<Family<Gauge>>(
                           new Family<Gauge>(std::move(name), std::move(help), std::move(label_names)))});
  return *families_.back().gauge;
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help, std::vector<double> bounds,
                                          std::vector<std::string> label_names) {
  absl::MutexLock lock(&mu_);
  CheckNew(name, label_names);
  for (size_t i = 0; i < bounds.size(); ++i) {
    CheckOrDie(std::isfinite(bounds[i]) && (i == 0 || bounds[i] > bounds[i - 1]),
               absl::StrCat(name, ": bucket bounds must be finite and strictly increasing"));
  }
  families_.push_back({.type = Type::kHistogram,
                       .histogram = std::unique_ptr<Family<Histogram>>(new Family<Histogram>(
                           std::move(name), std::move(help), std::move(label_names), std::move(bounds)))});
  return *families_.back().histogram;
}

void Registry::AddScrapeHook(std::function<void()> hook) {
  absl::MutexLock lock(&mu_);
  hooks_.push_back(std::move(hook));
}

std::string Registry::Render() {
  std::vector<std::function<void()>> hooks;
  {
    absl::MutexLock lock(&mu_);
    hooks = hooks_;
  }
  for (const auto& hook : hooks) hook();  // outside the lock: hooks set gauges
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const Entry& e : families_) {
    switch (e.type) {
      case Type::kCounter: RenderSimple(out, *e.counter, e.type); break;
      case Type::kGauge: RenderSimple(out, *e.gauge, e.type); break;
      case Type::kHistogram: RenderHistogram(out, *e.histogram); break;
    }
  }
  return out;
}

}  // namespace fedge::metrics
