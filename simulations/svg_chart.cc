#include "simulations/svg_chart.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace fedge {
namespace {

// Plot area margins in pixels.
constexpr double kLeft = 64, kRight = 16, kTop = 34, kBottom = 58;

std::string FormatTick(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1e9) return absl::StrFormat("%gG", v / 1e9);
  if (a >= 1e6) return absl::StrFormat("%gM", v / 1e6);
  if (a >= 1e4) return absl::StrFormat("%gk", v / 1e3);
  return absl::StrFormat("%g", v);
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> NiceTicks(double lo, double hi, int target) {
  const double raw = (hi - lo) / (target - 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  // From the last tick at or below lo to the first at or above hi, so the
  // data never touches the frame.
  const int64_t first = static_cast<int64_t>(std::floor(lo / step + 1e-9));
  const int64_t last = static_cast<int64_t>(std::ceil(hi / step - 1e-9));
  for (int64_t i = first; i <= last; ++i) ticks.push_back(i == 0 ? 0 : i * step);
  return ticks;
}

std::string RenderSvg(const LineChart& c) {
  const double w = c.width, h = c.height;
  const double pw = w - kLeft - kRight, ph = h - kTop - kBottom;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const ChartSeries& s : c.series) {
    for (double v : s.values) {
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    }
  }
  const bool has_data = std::isfinite(lo);
  if (!has_data) lo = 0, hi = 1;
  if (c.from_zero) lo = std::min(lo, 0.0);
  if (std::isfinite(c.y_min)) lo = c.y_min;
  if (std::isfinite(c.y_max)) hi = c.y_max;
  if (!(hi > lo)) hi = lo + 1;
  const std::vector<double> yticks = NiceTicks(lo, hi, 6);
  lo = std::min(lo, yticks.front());
  hi = std::max(hi, yticks.back());
  double x0 = c.x.empty() ? 0 : c.x.front(), x1 = c.x.empty() ? 1 : c.x.back();
  if (!(x1 > x0)) x1 = x0 + 1;
  auto px = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return kTop + (1 - (y - lo) / (hi - lo)) * ph; };

  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
      "role=\"img\" aria-label=\"%s\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
      "<text x=\"%g\" y=\"20\" class=\"title\">%s</text>\n",
      c.width, c.height, c.width, c.height, HtmlEscape(c.title), kLeft, HtmlEscape(c.title));
  for (double t : yticks) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>\n",
                          kLeft, kLeft + pw, py(t), py(t), kLeft - 6, py(t) + 4, FormatTick(t));
  }
  for (double t : NiceTicks(x0, x1, std::min(8, std::max(2, static_cast<int>(x1 - x0) + 1)))) {
    if (t < x0 || t > x1) continue;
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%s</text>\n", px(t),
                          kTop + ph + 16, FormatTick(t));
  }
  absl::StrAppendFormat(&svg,
                        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"frame\"/>\n"
                        "<text x=\"%.1f\" y=\"%.1f\" class=\"label\" text-anchor=\"middle\">round</text>\n"
                        "<text x=\"14\" y=\"%.1f\" class=\"label\" text-anchor=\"middle\" "
                        "transform=\"rotate(-90 14 %.1f)\">%s</text>\n",
                        kLeft, kTop, pw, ph, kLeft + pw / 2, kTop + ph + 34, kTop + ph / 2, kTop + ph / 2,
                        HtmlEscape(c.y_label));
  if (!has_data) {
    absl::StrAppendFormat(&svg, "<text x=\"%.1f\" y=\"%.1f\" class=\"label\" text-anchor=\"middle\">no data</text>\n",
                          kLeft + pw / 2, kTop + ph / 2);
  }
  for (double m : c.markers) {
    if (!(m >= x0 && m <= x1)) continue;
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" "
                          "stroke-dasharray=\"5,4\" class=\"marker\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%s</text>\n",
                          px(m), px(m), kTop, kTop + ph, px(m) + 3, kTop + 12, HtmlEscape(c.marker_label));
  }
  double legend_x = kLeft;
  for (const ChartSeries& s : c.series) {
    std::string points, dots;
    const size_t n = std::min(s.values.size(), c.x.size());
    auto flush = [&]() {
      if (!points.empty()) {
        absl::StrAppendFormat(&svg, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"%s\"/>\n",
                              HtmlEscape(s.color), points);
      }
      points.clear();
    };
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(s.values[i])) {
        flush();
        continue;
      }
      absl::StrAppendFormat(&points, "%.1f,%.1f ", px(c.x[i]), py(s.values[i]));
      if (n <= 60) {
        absl::StrAppendFormat(&dots, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>", px(c.x[i]),
                              py(s.values[i]), HtmlEscape(s.color));
      }
    }
    flush();
    if (!dots.empty()) absl::StrAppend(&svg, dots, "\n");
    absl::StrAppendFormat(&svg,
                          "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>"
                          "<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">%s</text>\n",
                          legend_x, h - 16, HtmlEscape(s.color), legend_x + 16, h - 6, HtmlEscape(s.name));
    legend_x += 28 + 7.5 * s.name.size();
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace fedge
