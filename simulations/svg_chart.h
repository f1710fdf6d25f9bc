// File: simulations/svg_chart.h
//
// Line charts as inline SVG text, for the self-contained HTML report
// (simulations/report.h): axes with rounded tick values, one polyline with
// point markers per series, and a legend. No script and no external
// resource, so the page renders anywhere, offline.
//
// LibTorch-free. All functions are thread-safe.
#ifndef FEDGE_SIMULATIONS_SVG_CHART_H_
#define FEDGE_SIMULATIONS_SVG_CHART_H_

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace fedge {

struct ChartSeries {
  std::string name;
  std::string color;           // any CSS colour, e.g. "#1f77b4"
  std::vector<double> values;  // one per x; NaN leaves a gap
};

struct LineChart {
  std::string title;
  std::string y_label;
  std::vector<double> x;  // increasing
  std::vector<ChartSeries> series;
  int width = 560;
  int height = 300;
  // Fixed y range; NaN fits the data (including 0 when `from_zero`).
  double y_min = NAN;
  double y_max = NAN;
  bool from_zero = true;
  // Vertical dashed lines at these x values (e.g. a drift onset), each
  // labelled with `marker_label`.
  std::vector<double> markers = {};
  std::string marker_label = {};
};

// The chart as an <svg> element. A chart without any finite value shows
// its axes and a "no data" note.
std::string RenderSvg(const LineChart& chart);

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string HtmlEscape(std::string_view text);

// Tick values covering [lo, hi] at a "nice" step (1, 2 or 5 times a power
// of ten), about `target` of them. REQUIRES: lo < hi, target >= 2.
std::vector<double> NiceTicks(double lo, double hi, int target);

}  // namespace fedge

#endif  // FEDGE_SIMULATIONS_SVG_CHART_H_
