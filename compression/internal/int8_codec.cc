#include "compression/internal/int8_codec.h"

#include <algorithm>

#include "compression/internal/block_quantizer.h"
#include "compression/internal/bytes.h"

namespace fedge::compression_internal {
namespace {

constexpr int kLevels = 127;
// |code| <= 128 for any byte the decoder may be sent.
constexpr float kMaxAbsCode = 128;

// The hot loop of coordinator aggregation. Kept free of calls and aliasing
// doubts (restrict) so the compiler widens int8 -> float and vectorises.
void AccumulateBlock(const int8_t* __restrict q, int64_t len, float s, float* __restrict a) {
  for (int64_t i = 0; i < len; ++i) a[i] += s * static_cast<float>(q[i]);
}

class Int8View final : public UpdateView {
 public:
  Int8View(const char* scales, const int8_t* codes, int64_t m, int block)
      : scales_(scales), codes_(codes), m_(m), block_(block) {}

  int64_t size() const override { return m_; }

  void AccumulateInto(absl::Span<float> acc, float weight) const override {
    for (int64_t start = 0, b = 0; start < m_; start += block_, ++b) {
      const float s = weight * Load<float>(scales_ + 4 * b);
      AccumulateBlock(codes_ + start, std::min<int64_t>(block_, m_ - start), s, acc.data() + start);
    }
  }

  void DecodeInto(absl::Span<float> out) const override {
    for (int64_t start = 0, b = 0; start < m_; start += block_, ++b) {
      const float s = Load<float>(scales_ + 4 * b);
      const int64_t end = std::min<int64_t>(start + block_, m_);
      for (int64_t i = start; i < end; ++i) out[i] = s * static_cast<float>(codes_[i]);
    }
  }

  double SquaredNorm() const override {
    double sum = 0;
    for (int64_t start = 0, b = 0; start < m_; start += block_, ++b) {
      const int64_t end = std::min<int64_t>(start + block_, m_);
      int64_t q2 = 0;
      for (int64_t i = start; i < end; ++i) q2 += codes_[i] * codes_[i];
      const double s = Load<float>(scales_ + 4 * b);
      sum += s * s * static_cast<double>(q2);
    }
    return sum;
  }

 private:
  const char* scales_;
  const int8_t* codes_;
  int64_t m_;
  int block_;
};

class Int8Codec final : public ValueCodec {
 public:
  explicit Int8Codec(int block) : block_(block) {}

  size_t EncodedSize(int64_t m) const override {
    return 4 * static_cast<size_t>(NumBlocks(m, block_)) + static_cast<size_t>(m);
  }

  void Encode(absl::Span<const float> values, absl::BitGenRef gen, char* out) const override {
    const int64_t m = static_cast<int64_t>(values.size());
    int8_t* codes = reinterpret_cast<int8_t*>(out + 4 * NumBlocks(m, block_));
    UniformSource uniform(gen);
    for (int64_t start = 0, b = 0; start < m; start += block_, ++b) {
      const auto block = values.subspan(start, std::min<int64_t>(block_, m - start));
      Store<float>(out + 4 * b, QuantizeBlock(block, kLevels, kMaxAbsCode, uniform, codes + start));
    }
  }

  absl::StatusOr<std::unique_ptr<UpdateView>> Parse(std::string_view bytes, int64_t m) const override {
    if (bytes.size() != EncodedSize(m)) return SectionSizeError("int8", bytes.size(), EncodedSize(m), m);
    const int64_t nb = NumBlocks(m, block_);
    if (absl::Status s = ValidateScales("int8", bytes.data(), nb, kMaxAbsCode); !s.ok()) return s;
    const auto* codes = reinterpret_cast<const int8_t*>(bytes.data() + 4 * nb);
    return std::make_unique<Int8View>(bytes.data(), codes, m, block_);
  }

 private:
  int block_;
};

}  // namespace

std::unique_ptr<ValueCodec> MakeInt8Codec(int block_size) { return std::make_unique<Int8Codec>(block_size); }

}  // namespace fedge::compression_internal
