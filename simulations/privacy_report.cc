#include "simulations/privacy_report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "simulations/svg_chart.h"

namespace fedge {
namespace {

template <typename F>
std::vector<double> Column(const std::vector<RoundRow>& rows, F field) {
  std::vector<double> out;
  out.reserve(rows.size());
  for (const RoundRow& r : rows) out.push_back(field(r));
  return out;
}

bool AnyFinite(const std::vector<double>& v) {
  for (double x : v) {
    if (std::isfinite(x)) return true;
  }
  return false;
}

double LastFinite(const std::vector<double>& v) {
  for (auto it = v.rbegin(); it != v.rend(); ++it) {
    if (std::isfinite(*it)) return *it;
  }
  return NAN;
}

// fp32 bytes over bytes received, over the whole run.
double OverallRatio(const std::vector<RoundRow>& rows) {
  double fp32 = 0, sent = 0;
  for (const RoundRow& r : rows) {
    if (!std::isfinite(r.compression_ratio)) continue;
    fp32 += r.compression_ratio * static_cast<double>(r.bytes_up);
    sent += static_cast<double>(r.bytes_up);
  }
  return sent > 0 ? fp32 / sent : NAN;
}

}  // namespace

std::string CompressionPrivacyHtml(const std::vector<RoundRow>& rows) {
  const std::vector<double> x = Column(rows, [](const RoundRow& r) { return static_cast<double>(r.round); });
  const std::vector<double> ratio = Column(rows, [](const RoundRow& r) { return r.compression_ratio; });
  const std::vector<double> median = Column(rows, [](const RoundRow& r) { return r.epsilon_device_median; });
  const std::vector<double> max = Column(rows, [](const RoundRow& r) { return r.epsilon_device_max; });
  const std::vector<double> client = Column(rows, [](const RoundRow& r) { return r.client_epsilon; });
  const bool privacy = AnyFinite(median) || AnyFinite(client);
  if (!AnyFinite(ratio) && !privacy) return "";
  std::string html = absl::StrFormat("<h2>Compression and privacy</h2>\n<div class=\"sub\">upload compression ratio "
                                     "(fp32 bytes / bytes received) over the run: %.2f×</div>\n<div class=\"charts\">\n",
                                     OverallRatio(rows));
  html += RenderSvg({.title = "Compression ratio per round",
                     .y_label = "fp32 bytes / bytes up",
                     .x = x,
                     .series = {{"compression ratio", "#8c564b", ratio}}});
  if (privacy) {
    std::vector<ChartSeries> series;
    if (AnyFinite(median)) {
      series.push_back({"device ε (median)", "#1f77b4", median});
      series.push_back({"device ε (max)", "#aec7e8", max});
    }
    if (AnyFinite(client)) series.push_back({"client ε", "#d62728", client});
    html += RenderSvg({.title = "Privacy spent (ε)", .y_label = "ε", .x = x, .series = std::move(series)});
  }
  html += "</div>\n";
  return html;
}

std::string CompressionPrivacyTerminalLines(const std::vector<RoundRow>& rows) {
  std::string s;
  const double ratio = OverallRatio(rows);
  if (std::isfinite(ratio)) absl::StrAppendFormat(&s, "  compression ratio    %.2fx (fp32 bytes / bytes up)\n", ratio);
  const double median = LastFinite(Column(rows, [](const RoundRow& r) { return r.epsilon_device_median; }));
  const double max = LastFinite(Column(rows, [](const RoundRow& r) { return r.epsilon_device_max; }));
  const double client = LastFinite(Column(rows, [](const RoundRow& r) { return r.client_epsilon; }));
  if (std::isfinite(median)) {
    absl::StrAppendFormat(&s, "  device epsilon       %.3f median, %.3f max\n", median, max);
  }
  if (std::isfinite(client)) absl::StrAppendFormat(&s, "  client epsilon       %.3f\n", client);
  return s;
}

}  // namespace fedge
