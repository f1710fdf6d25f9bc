#include "compression/internal/int4_codec.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "compression/internal/block_quantizer.h"
#include "compression/internal/bytes.h"

namespace fedge::compression_internal {
namespace {

constexpr int kLevels = 7;
// |code| <= 8 for any nibble the decoder may be sent.
constexpr float kMaxAbsCode = 8;

// Sign-extends the low / high nibble of a byte.
inline int Low(uint8_t b) { return static_cast<int8_t>(static_cast<uint8_t>(b << 4)) >> 4; }
inline int High(uint8_t b) { return static_cast<int8_t>(b) >> 4; }

// `len` values starting at packed[0]'s low nibble (blocks are even-sized, so
// every block starts on a byte boundary).
void AccumulateBlock(const uint8_t* __restrict packed, int64_t len, float s, float* __restrict a) {
  const int64_t pairs = len / 2;
  for (int64_t j = 0; j < pairs; ++j) {
    a[2 * j] += s * static_cast<float>(Low(packed[j]));
    a[2 * j + 1] += s * static_cast<float>(High(packed[j]));
  }
  if (len % 2) a[len - 1] += s * static_cast<float>(Low(packed[pairs]));
}

int Code(const uint8_t* packed, int64_t i) { return i % 2 ? High(packed[i / 2]) : Low(packed[i / 2]); }

class Int4View final : public UpdateView {
 public:
  Int4View(const char* scales, const uint8_t* packed, int64_t m, int block)
      : scales_(scales), packed_(packed), m_(m), block_(block) {}

  int64_t size() const override { return m_; }

  void AccumulateInto(absl::Span<float> acc, float weight) const override {
    for (int64_t start = 0, b = 0; start < m_; start += block_, ++b) {
      const float s = weight * Load<float>(scales_ + 4 * b);
      AccumulateBlock(packed_ + start / 2, std::min<int64_t>(block_, m_ - start), s, acc.data() + start);
    }
  }

  void DecodeInto(absl::Span<float> out) const override {
    for (int64_t start = 0, b = 0; start < m_; start += block_, ++b) {
      const float s = Load<float>(scales_ + 4 * b);
      const int64_t end = std::min<int64_t>(start + block_, m_);
      for (int64_t i = start; i < end; ++i) out[i] = s * static_cast<float>(Code(packed_, i));
    }
  }

  double SquaredNorm() const override {
    double sum = 0;
    for (int64_t start = 0, b = 0; start < m_; start += block_, ++b) {
      const int64_t end = std::min<int64_t>(start + block_, m_);
      int64_t q2 = 0;
      for (int64_t i = start; i < end; ++i) q2 += Code(packed_, i) * Code(packed_, i);
      const double s = Load<float>(scales_ + 4 * b);
      sum += s * s * static_cast<double>(q2);
    }
    return sum;
  }

 private:
  const char* scales_;
  const uint8_t* packed_;
  int64_t m_;
  int block_;
};

class Int4Codec final : public ValueCodec {
 public:
  explicit Int4Codec(int block) : block_(block) {}

  size_t EncodedSize(int64_t m) const override {
    return 4 * static_cast<size_t>(NumBlocks(m, block_)) + static_cast<size_t>((m + 1) / 2);
  }

  void Encode(absl::Span<const float> values, absl::BitGenRef gen, char* out) const override {
    const int64_t m = static_cast<int64_t>(values.size());
    auto* packed = reinterpret_cast<uint8_t*>(out + 4 * NumBlocks(m, block_));
    std::fill(packed, packed + (m + 1) / 2, 0);
    std::vector<int8_t> codes(std::min<int64_t>(block_, m));
    UniformSource uniform(gen);
    for (int64_t start = 0, b = 0; start < m; start += block_, ++b) {
      const int64_t len = std::min<int64_t>(block_, m - start);
      Store<float>(out + 4 * b, QuantizeBlock(values.subspan(start, len), kLevels, kMaxAbsCode, uniform, codes.data()));
      for (int64_t i = 0; i < len; ++i) {
        const int64_t k = start + i;
        packed[k / 2] |= static_cast<uint8_t>((codes[i] & 0xf) << (4 * (k % 2)));
      }
    }
  }

  absl::StatusOr<std::unique_ptr<UpdateView>> Parse(std::string_view bytes, int64_t m) const override {
    if (bytes.size() != EncodedSize(m)) return SectionSizeError("int4", bytes.size(), EncodedSize(m), m);
    const int64_t nb = NumBlocks(m, block_);
    if (absl::Status s = ValidateScales("int4", bytes.data(), nb, kMaxAbsCode); !s.ok()) return s;
    const auto* packed = reinterpret_cast<const uint8_t*>(bytes.data() + 4 * nb);
    if (m % 2 && (packed[m / 2] & 0xf0) != 0) {
      return absl::InvalidArgumentError("int4 payload: the unused high nibble of the last byte is not zero");
    }
    return std::make_unique<Int4View>(bytes.data(), packed, m, block_);
  }

 private:
  int block_;
};

}  // namespace

std::unique_ptr<ValueCodec> MakeInt4Codec(int block_size) { return std::make_unique<Int4Codec>(block_size); }

}  // namespace fedge::compression_internal
