#include "compression/model/int8_quantizer.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace fedge {
namespace {

namespace nn = torch::nn;
using Kind = proto::Int8Op::Kind;

// One op of the int8 graph and the Sequential modules [first, last] it
// covers (two modules for a Conv2d / Linear with a fused ReLU).
struct Segment {
  Kind kind = proto::Int8Op::KIND_UNSPECIFIED;
  size_t first = 0;
  size_t last = 0;
};

absl::Status Unsupported(size_t index, const nn::Module& m, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("int8 quantizer: layer ", index, " (", m.name(), ") ",
                                                 std::string(why),
                                                 "; supported: Conv2d, Linear, ReLU, MaxPool2d, Flatten"));
}

absl::StatusOr<Kind> KindOf(size_t index, const nn::Module& m) {
  if (m.as<nn::Conv2d>() != nullptr) return proto::Int8Op::CONV2D;
  if (m.as<nn::Linear>() != nullptr) return proto::Int8Op::LINEAR;
  if (m.as<nn::ReLU>() != nullptr) return proto::Int8Op::RELU;
  if (m.as<nn::MaxPool2d>() != nullptr) return proto::Int8Op::MAX_POOL2D;
  if (m.as<nn::Flatten>() != nullptr) return proto::Int8Op::FLATTEN;
  return Unsupported(index, m, "has no int8 equivalent");
}

absl::StatusOr<std::vector<Segment>> PlanSegments(nn::Sequential& model) {
  std::vector<Segment> segments;
  const size_t n = model->size();
  for (size_t i = 0; i < n; ++i) {
    FEDGE_ASSIGN_OR_RETURN(Kind kind, KindOf(i, *model->ptr(i)));
    Segment s{kind, i, i};
    const bool weighted = kind == proto::Int8Op::CONV2D || kind == proto::Int8Op::LINEAR;
    if (weighted && i + 1 < n && model->ptr(i + 1)->as<nn::ReLU>() != nullptr) s.last = ++i;
    segments.push_back(s);
  }
  if (segments.empty()) return absl::InvalidArgumentError("int8 quantizer: the model has no layers");
  return segments;
}

std::vector<float> ToVector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

bool Square(const torch::ExpandingArray<2>& a) { return (*a)[0] == (*a)[1]; }

absl::Status AddConv(size_t index, const nn::Conv2dImpl& conv, bool fused_relu, Int8ModelBuilder& builder) {
  const auto& o = conv.options;
  const auto* padding = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  if (o.groups() != 1) return Unsupported(index, conv, "uses groups != 1");
  if ((*o.dilation())[0] != 1 || (*o.dilation())[1] != 1) return Unsupported(index, conv, "uses dilation");
  if (!Square(o.kernel_size()) || !Square(o.stride())) return Unsupported(index, conv, "has a non-square window");
  if (padding == nullptr || !Square(*padding)) return Unsupported(index, conv, "has 'same'/'valid' or uneven padding");
  if (c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()) == nullptr) {
    return Unsupported(index, conv, "pads with a mode other than zeros");
  }
  const int out = static_cast<int>(o.out_channels());
  std::vector<float> bias = o.bias() ? ToVector(conv.bias) : std::vector<float>(out, 0.0f);
  builder.Conv2d(out, static_cast<int>((*o.kernel_size())[0]), static_cast<int>((*o.stride())[0]),
                 static_cast<int>((**padding)[0]), ToVector(conv.weight), std::move(bias), fused_relu);
  return absl::OkStatus();
}

absl::Status AddPool(size_t index, const nn::MaxPool2dImpl& pool, Int8ModelBuilder& builder) {
  const nn::MaxPool2dOptions& o = pool.options;
  if (o.ceil_mode()) return Unsupported(index, pool, "uses ceil_mode");
  if ((*o.dilation())[0] != 1 || (*o.dilation())[1] != 1) return Unsupported(index, pool, "uses dilation");
  if (!Square(o.kernel_size()) || !Square(o.stride()) || !Square(o.padding())) {
    return Unsupported(index, pool, "has a non-square window");
  }
  builder.MaxPool2d(static_cast<int>((*o.kernel_size())[0]), static_cast<int>((*o.stride())[0]),
                    static_cast<int>((*o.padding())[0]));
  return absl::OkStatus();
}

absl::Status AddSegment(nn::Sequential& model, const Segment& s, Int8ModelBuilder& builder) {
  const nn::Module& m = *model->ptr(s.first);
  const bool fused_relu = s.last > s.first;
  switch (s.kind) {
    case proto::Int8Op::CONV2D:
      return AddConv(s.first, *m.as<nn::Conv2d>(), fused_relu, builder);
    case proto::Int8Op::LINEAR: {
      const nn::LinearImpl& linear = *m.as<nn::Linear>();
      const int out = static_cast<int>(linear.options.out_features());
      std::vector<float> bias = linear.options.bias() ? ToVector(linear.bias) : std::vector<float>(out, 0.0f);
      builder.Linear(out, ToVector(linear.weight), std::move(bias), fused_relu);
      return absl::OkStatus();
    }
    case proto::Int8Op::RELU:
      builder.Relu();
      return absl::OkStatus();
    case proto::Int8Op::MAX_POOL2D:
      return AddPool(s.first, *m.as<nn::MaxPool2d>(), builder);
    case proto::Int8Op::FLATTEN: {
      const nn::FlattenOptions& o = m.as<nn::Flatten>()->options;
      if (o.start_dim() != 1 || o.end_dim() != -1) return Unsupported(s.first, m, "flattens other than dims 1..-1");
      builder.Flatten();
      return absl::OkStatus();
    }
    default:
      return Unsupported(s.first, m, "has no int8 equivalent");
  }
}

absl::Status ValidateImages(const torch::Tensor& images) {
  if (!images.defined() || images.dim() != 4 || images.size(0) == 0 || images.scalar_type() != torch::kFloat32) {
    return absl::InvalidArgumentError("int8 quantizer: calibration images must be a non-empty float [N, C, H, W]");
  }
  return absl::OkStatus();
}

// Observed values of one activation: a running range, plus every value
// when percentiles are wanted.
struct Observer {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  std::vector<float> values;

  void Observe(const torch::Tensor& x, bool keep_values) {
    lo = std::min(lo, x.min().item<float>());
    hi = std::max(hi, x.max().item<float>());
    if (keep_values) {
      std::vector<float> v = ToVector(x);
      values.insert(values.end(), v.begin(), v.end());
    }
  }

  absl::StatusOr<ActivationQuant> Choose(const QuantizeOptions& o) {
    if (o.calibration == CalibrationMethod::kMinMax || values.empty()) return ChooseActivationQuant(lo, hi);
    const auto rank = [&](double p) {
      return static_cast<size_t>(std::llround(p / 100.0 * static_cast<double>(values.size() - 1)));
    };
    const size_t hi_rank = rank(o.percentile);
    const size_t lo_rank = rank(100.0 - o.percentile);
    std::nth_element(values.begin(), values.begin() + hi_rank, values.end());
    const float q_hi = values[hi_rank];
    std::nth_element(values.begin(), values.begin() + lo_rank, values.begin() + hi_rank);
    return ChooseActivationQuant(values[lo_rank], q_hi);
  }
};

absl::StatusOr<Int8Calibration> CalibrateUnchecked(nn::Sequential& model, const std::vector<Segment>& segments,
                                                   const torch::Tensor& images, const QuantizeOptions& o) {
  torch::NoGradGuard no_grad;
  model->eval();
  const bool keep_values = o.calibration == CalibrationMethod::kPercentile;
  const int64_t n = std::min(images.size(0), o.max_calibration_examples);
  Observer input;
  std::vector<Observer> observers(segments.size());
  for (int64_t start = 0; start < n; start += o.batch_size) {
    torch::Tensor x = images.slice(0, start, std::min(n, start + o.batch_size));
    input.Observe(x, /*keep_values=*/false);
    for (size_t s = 0; s < segments.size(); ++s) {
      for (size_t i = segments[s].first; i <= segments[s].last; ++i) x = (model->begin() + i)->forward(x);
      // Only CONV2D / LINEAR choose new parameters; the others inherit theirs.
      const Kind k = segments[s].kind;
      observers[s].Observe(x, keep_values && (k == proto::Int8Op::CONV2D || k == proto::Int8Op::LINEAR));
    }
  }
  model->train();
  Int8Calibration cal;
  FEDGE_ASSIGN_OR_RETURN(cal.input, ChooseActivationQuant(input.lo, input.hi));
  for (size_t s = 0; s < segments.size(); ++s) {
    const Kind k = segments[s].kind;
    // These ops keep their input's parameters (the builder ignores ours).
    if (k == proto::Int8Op::RELU || k == proto::Int8Op::MAX_POOL2D || k == proto::Int8Op::FLATTEN) {
      cal.outputs.push_back(s == 0 ? cal.input : cal.outputs.back());
      continue;
    }
    FEDGE_ASSIGN_OR_RETURN(ActivationQuant q, observers[s].Choose(o));
    cal.outputs.push_back(q);
  }
  return cal;
}

}  // namespace

absl::Status ValidateQuantizeOptions(const QuantizeOptions& o) {
  if (!(o.percentile > 50 && o.percentile <= 100)) {
    return absl::InvalidArgumentError(absl::StrCat("int8 quantizer: percentile must be in (50, 100], got ", o.percentile));
  }
  if (o.max_calibration_examples < 1) {
    return absl::InvalidArgumentError("int8 quantizer: max_calibration_examples must be >= 1");
  }
  if (o.batch_size < 1) return absl::InvalidArgumentError("int8 quantizer: batch_size must be >= 1");
  return absl::OkStatus();
}

absl::StatusOr<Int8ModelBuilder> ToInt8Builder(nn::Sequential& model, std::array<int, 3> input_shape) {
  FEDGE_ASSIGN_OR_RETURN(std::vector<Segment> segments, PlanSegments(model));
  Int8ModelBuilder builder(input_shape[0], input_shape[1], input_shape[2]);
  try {
    for (const Segment& s : segments) {
      FEDGE_RETURN_IF_ERROR(AddSegment(model, s, builder));
      if (!builder.status().ok()) {
        return absl::InvalidArgumentError(absl::StrCat("int8 quantizer: layer ", s.first, " (",
                                                       model->ptr(s.first)->name(),
                                                       "): ", builder.status().message()));
      }
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("int8 quantizer: LibTorch error: ", e.what()));
  }
  return builder;
}

absl::StatusOr<Int8Calibration> CalibrateActivations(nn::Sequential& model, const torch::Tensor& images,
                                                     const QuantizeOptions& options) {
  FEDGE_RETURN_IF_ERROR(ValidateQuantizeOptions(options));
  FEDGE_RETURN_IF_ERROR(ValidateImages(images));
  FEDGE_ASSIGN_OR_RETURN(std::vector<Segment> segments, PlanSegments(model));
  try {
    return CalibrateUnchecked(model, segments, images, options);
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("int8 quantizer: LibTorch error during calibration: ", e.what()));
  }
}

absl::StatusOr<proto::ArtifactBody> QuantizeToInt8(nn::Sequential& model, const torch::Tensor& calibration_images,
                                                   const QuantizeOptions& options, proto::ArtifactHeader header) {
  FEDGE_RETURN_IF_ERROR(ValidateImages(calibration_images));
  const std::array<int, 3> shape = {static_cast<int>(calibration_images.size(1)),
                                    static_cast<int>(calibration_images.size(2)),
                                    static_cast<int>(calibration_images.size(3))};
  FEDGE_ASSIGN_OR_RETURN(Int8ModelBuilder builder, ToInt8Builder(model, shape));
  FEDGE_ASSIGN_OR_RETURN(Int8Calibration calibration, CalibrateActivations(model, calibration_images, options));
  return builder.Build(calibration, std::move(header));
}

}  // namespace fedge
