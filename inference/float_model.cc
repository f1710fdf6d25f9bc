#include "inference/float_model.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace fedge {
namespace {

absl::Status LayerError(size_t index, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("float model: layer ", index, ": ", what));
}

bool WindowShape(const FloatLayer& l, ActShape& out) {
  const int span_h = l.in.h + 2 * l.padding - l.kernel;
  const int span_w = l.in.w + 2 * l.padding - l.kernel;
  if (l.kernel <= 0 || l.stride <= 0 || l.padding < 0 || span_h < 0 || span_w < 0) return false;
  out.h = span_h / l.stride + 1;
  out.w = span_w / l.stride + 1;
  return true;
}

void Conv(const FloatLayer& l, const float* in, float* out) {
  const int depth = l.in.c * l.kernel * l.kernel;
  for (int oc = 0; oc < l.out.c; ++oc) {
    for (int oy = 0; oy < l.out.h; ++oy) {
      for (int ox = 0; ox < l.out.w; ++ox) {
        double acc = l.bias[oc];
        for (int ic = 0; ic < l.in.c; ++ic) {
          for (int ky = 0; ky < l.kernel; ++ky) {
            for (int kx = 0; kx < l.kernel; ++kx) {
              const int iy = oy * l.stride - l.padding + ky;
              const int ix = ox * l.stride - l.padding + kx;
              if (iy < 0 || iy >= l.in.h || ix < 0 || ix >= l.in.w) continue;
              acc += double{in[(ic * l.in.h + iy) * l.in.w + ix]} *
                     l.weights[oc * depth + (ic * l.kernel + ky) * l.kernel + kx];
            }
          }
        }
        *out++ = static_cast<float>(l.fused_relu ? std::max(acc, 0.0) : acc);
      }
    }
  }
}

void Linear(const FloatLayer& l, const float* in, float* out) {
  const int depth = l.in.c;
  for (int o = 0; o < l.out.c; ++o) {
    double acc = l.bias[o];
    for (int k = 0; k < depth; ++k) acc += double{in[k]} * l.weights[o * depth + k];
    out[o] = static_cast<float>(l.fused_relu ? std::max(acc, 0.0) : acc);
  }
}

void Pool(const FloatLayer& l, const float* in, float* out) {
  const bool is_max = l.kind == proto::Int8Op::MAX_POOL2D;
  for (int c = 0; c < l.out.c; ++c) {
    for (int oy = 0; oy < l.out.h; ++oy) {
      for (int ox = 0; ox < l.out.w; ++ox) {
        double sum = 0;
        float best = -std::numeric_limits<float>::infinity();
        for (int ky = 0; ky < l.kernel; ++ky) {
          for (int kx = 0; kx < l.kernel; ++kx) {
            const int iy = oy * l.stride - l.padding + ky;
            const int ix = ox * l.stride - l.padding + kx;
            if (iy < 0 || iy >= l.in.h || ix < 0 || ix >= l.in.w) continue;
            const float v = in[(c * l.in.h + iy) * l.in.w + ix];
            best = std::max(best, v);
            sum += v;
          }
        }
        *out++ = is_max ? best : static_cast<float>(sum / (l.kernel * l.kernel));
      }
    }
  }
}

}  // namespace

absl::Status AppendLayer(FloatModel& model, FloatLayer layer) {
  const size_t index = model.layers.size();
  layer.in = model.output();
  layer.out = layer.in;
  const bool spatial = layer.kind == proto::Int8Op::CONV2D || layer.kind == proto::Int8Op::MAX_POOL2D ||
                       layer.kind == proto::Int8Op::AVG_POOL2D || layer.kind == proto::Int8Op::FLATTEN;
  if (spatial && layer.in.flat) return LayerError(index, "needs a [C, H, W] input, got a flat one");
  size_t depth = 0;
  switch (layer.kind) {
    case proto::Int8Op::CONV2D:
      depth = static_cast<size_t>(layer.in.c) * layer.kernel * layer.kernel;
      layer.out.c = layer.out_channels;
      if (!WindowShape(layer, layer.out)) return LayerError(index, "kernel/stride/padding do not fit the input");
      break;
    case proto::Int8Op::LINEAR:
      if (!layer.in.flat) return LayerError(index, "LINEAR needs a flat input: add FLATTEN first");
      depth = static_cast<size_t>(layer.in.c);
      layer.out = ActShape{layer.out_channels, 1, 1, true};
      break;
    case proto::Int8Op::MAX_POOL2D:
    case proto::Int8Op::AVG_POOL2D:
      if (!WindowShape(layer, layer.out) || layer.padding > layer.kernel / 2) {
        return LayerError(index, "kernel/stride/padding do not fit the input");
      }
      break;
    case proto::Int8Op::FLATTEN: layer.out = ActShape{static_cast<int>(layer.in.size()), 1, 1, true}; break;
    case proto::Int8Op::RELU: break;
    default: return LayerError(index, "unknown kind");
  }
  if (depth > 0) {
    if (layer.out_channels <= 0) return LayerError(index, "out_channels must be > 0");
    if (layer.weights.size() != depth * layer.out_channels || layer.bias.size() != size_t(layer.out_channels)) {
      return LayerError(index, absl::StrCat("expects ", depth * layer.out_channels, " weights and ",
                                            layer.out_channels, " biases, got ", layer.weights.size(), " and ",
                                            layer.bias.size()));
    }
  }
  model.layers.push_back(std::move(layer));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<float>> RunFloatModel(const FloatModel& model, absl::Span<const float> input,
                                                 std::vector<ActRange>* ranges) {
  if (static_cast<int64_t>(input.size()) != model.input.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("float model: input has ", input.size(), " values, expected ", model.input.size()));
  }
  if (ranges != nullptr && ranges->empty()) {
    ranges->assign(model.layers.size(), ActRange{std::numeric_limits<float>::infinity(),
                                                 -std::numeric_limits<float>::infinity()});
  }
  std::vector<float> current(input.begin(), input.end());
  std::vector<float> next;
  for (size_t i = 0; i < model.layers.size(); ++i) {
    const FloatLayer& l = model.layers[i];
    next.assign(static_cast<size_t>(l.out.size()), 0.0f);
    switch (l.kind) {
      case proto::Int8Op::CONV2D: Conv(l, current.data(), next.data()); break;
      case proto::Int8Op::LINEAR: Linear(l, current.data(), next.data()); break;
      case proto::Int8Op::MAX_POOL2D:
      case proto::Int8Op::AVG_POOL2D: Pool(l, current.data(), next.data()); break;
      case proto::Int8Op::RELU:
        for (size_t k = 0; k < next.size(); ++k) next[k] = std::max(current[k], 0.0f);
        break;
      default: next = current; break;  // FLATTEN
    }
    current.swap(next);
    if (ranges != nullptr) {
      auto [lo, hi] = std::minmax_element(current.begin(), current.end());
      (*ranges)[i].min = std::min((*ranges)[i].min, *lo);
      (*ranges)[i].max = std::max((*ranges)[i].max, *hi);
    }
  }
  return current;
}

}  // namespace fedge
