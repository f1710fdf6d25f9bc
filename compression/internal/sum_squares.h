// File: compression/internal/sum_squares.h
//
// Sum of squares in double for the dense codecs' validation pass. Strict
// IEEE forbids the compiler from reassociating a reduction, which would
// serialise the loop on the add latency; the `omp simd reduction` pragma
// (enabled by -fopenmp-simd, no OpenMP runtime involved) allows this one loop
// to be vectorised with per-lane partial sums.
#ifndef FEDGE_COMPRESSION_INTERNAL_SUM_SQUARES_H_
#define FEDGE_COMPRESSION_INTERNAL_SUM_SQUARES_H_

#include <cstdint>

namespace fedge::compression_internal {

inline double SumOfSquares(const float* v, int64_t n) {
  double sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(v[i]) * v[i];
  return sum;
}

// Sum of squares of m values that decode_chunk(start, len, out) writes as
// floats, a cache-resident chunk at a time, so both the decoding and the
// reduction loops vectorise. For floats the result cannot overflow, so it
// is finite iff every value is.
template <typename DecodeChunk>
double ChunkedSumOfSquares(int64_t m, DecodeChunk decode_chunk) {
  constexpr int64_t kChunk = 512;
  float chunk[kChunk];
  double sum = 0;
  for (int64_t start = 0; start < m; start += kChunk) {
    const int64_t len = m - start < kChunk ? m - start : kChunk;
    decode_chunk(start, len, chunk);
    sum += SumOfSquares(chunk, len);
  }
  return sum;
}

}  // namespace fedge::compression_internal

#endif  // FEDGE_COMPRESSION_INTERNAL_SUM_SQUARES_H_
