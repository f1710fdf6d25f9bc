#include "compression/internal/sign_codec.h"

#include <algorithm>
#include <cmath>

#include "compression/internal/block_quantizer.h"
#include "compression/internal/bytes.h"

namespace fedge::compression_internal {
namespace {

// +s or -s for bit i of `bits` (blocks are multiples of 8, so each block's
// bits start on a byte boundary).
inline float Signed(const uint8_t* bits, int64_t i, float s) {
  return ((bits[i >> 3] >> (i & 7)) & 1) ? -s : s;
}

// The +-1 pattern of every sign byte. Turning per-bit branches into a
// table load lets the 8 multiply-adds per byte run as vector operations.
struct SignTable {
  float signs[256][8];
};

const SignTable& Signs() {
  static const SignTable table = [] {
    SignTable t;
    for (int b = 0; b < 256; ++b) {
      for (int k = 0; k < 8; ++k) t.signs[b][k] = ((b >> k) & 1) ? -1.0f : 1.0f;
    }
    return t;
  }();
  return table;
}

void AccumulateBlock(const SignTable& table, const uint8_t* __restrict bits, int64_t len, float s,
                     float* __restrict a) {
  const int64_t bytes = len / 8;
  for (int64_t j = 0; j < bytes; ++j) {
    const float* pattern = table.signs[bits[j]];
    for (int k = 0; k < 8; ++k) a[8 * j + k] += s * pattern[k];
  }
  for (int64_t i = 8 * bytes; i < len; ++i) a[i] += Signed(bits, i, s);
}

class SignView final : public UpdateView {
 public:
  SignView(const char* scales, const uint8_t* bits, int64_t m, int block)
      : scales_(scales), bits_(bits), m_(m), block_(block) {}

  int64_t size() const override { return m_; }

  void AccumulateInto(absl::Span<float> acc, float weight) const override {
    const SignTable& table = Signs();
    for (int64_t start = 0, b = 0; start < m_; start += block_, ++b) {
      const float s = weight * Load<float>(scales_ + 4 * b);
      AccumulateBlock(table, bits_ + start / 8, std::min<int64_t>(block_, m_ - start), s, acc.data() + start);
    }
  }

  void DecodeInto(absl::Span<float> out) const override {
    for (int64_t start = 0, b = 0; start < m_; start += block_, ++b) {
      const float s = Load<float>(scales_ + 4 * b);
      const int64_t end = std::min<int64_t>(start + block_, m_);
      for (int64_t i = start; i < end; ++i) out[i] = Signed(bits_, i, s);
    }
  }

  // Every value of a block has magnitude scale: no need to read the bits.
  double SquaredNorm() const override {
    double sum = 0;
    for (int64_t start = 0, b = 0; start < m_; start += block_, ++b) {
      const double s = Load<float>(scales_ + 4 * b);
      sum += s * s * static_cast<double>(std::min<int64_t>(block_, m_ - start));
    }
    return sum;
  }

 private:
  const char* scales_;
  const uint8_t* bits_;
  int64_t m_;
  int block_;
};

class SignCodec final : public ValueCodec {
 public:
  explicit SignCodec(int block) : block_(block) {}

  size_t EncodedSize(int64_t m) const override {
    return 4 * static_cast<size_t>(NumBlocks(m, block_)) + static_cast<size_t>((m + 7) / 8);
  }

  void Encode(absl::Span<const float> values, absl::BitGenRef, char* out) const override {
    const int64_t m = static_cast<int64_t>(values.size());
    auto* bits = reinterpret_cast<uint8_t*>(out + 4 * NumBlocks(m, block_));
    std::fill(bits, bits + (m + 7) / 8, 0);
    for (int64_t start = 0, b = 0; start < m; start += block_, ++b) {
      const int64_t end = std::min<int64_t>(start + block_, m);
      double sum_abs = 0;
      for (int64_t i = start; i < end; ++i) {
        sum_abs += std::fabs(values[i]);
        if (values[i] < 0) bits[i >> 3] |= static_cast<uint8_t>(1u << (i & 7));
      }
      Store<float>(out + 4 * b, static_cast<float>(sum_abs / static_cast<double>(end - start)));
    }
  }

  absl::StatusOr<std::unique_ptr<UpdateView>> Parse(std::string_view bytes, int64_t m) const override {
    if (bytes.size() != EncodedSize(m)) return SectionSizeError("sign", bytes.size(), EncodedSize(m), m);
    const int64_t nb = NumBlocks(m, block_);
    if (absl::Status s = ValidateScales("sign", bytes.data(), nb, 1.0f); !s.ok()) return s;
    const auto* bits = reinterpret_cast<const uint8_t*>(bytes.data() + 4 * nb);
    if (m % 8 && (bits[m / 8] >> (m % 8)) != 0) {
      return absl::InvalidArgumentError("sign payload: padding bits of the last byte are not zero");
    }
    return std::make_unique<SignView>(bytes.data(), bits, m, block_);
  }

 private:
  int block_;
};

}  // namespace

std::unique_ptr<ValueCodec> MakeSignCodec(int block_size) { return std::make_unique<SignCodec>(block_size); }

}  // namespace fedge::compression_internal
