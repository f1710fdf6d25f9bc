// File: fuzz/fuzz_input.h
//
// The byte format shared by the harnesses and the seed maker
// (fuzz/make_seeds.cc). A harness reads its input front to back with
// `FuzzInput`: fixed-width little-endian integers and length-prefixed byte
// strings. Reading past the end yields zeros and empty strings, so every
// input is a valid (if short) program and libFuzzer's mutations never make
// a harness bail out early. The seed maker writes the same format with
// `FuzzOutput`, so seeds start from inputs the project's own tools produce
// and need no guessing by the fuzzer.
//
// Thread-safety: plain values; one thread per object.
#ifndef FEDGE_FUZZ_FUZZ_INPUT_H_
#define FEDGE_FUZZ_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace fedge::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  bool empty() const { return rest_.empty(); }
  uint8_t U8() { return static_cast<uint8_t>(Uint(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Uint(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Uint(4)); }
  uint64_t U64() { return Uint(8); }
  bool Bool() { return (U8() & 1) != 0; }
  // A byte string preceded by its U16 length (truncated at the end of input).
  std::string_view Bytes() { return Take(U16()); }
  // Everything not read yet.
  std::string_view Rest() { return Take(rest_.size()); }

 private:
  uint64_t Uint(int width) {
    uint64_t v = 0;
    for (int i = 0; i < width && !rest_.empty(); ++i) {
      v |= uint64_t{static_cast<uint8_t>(rest_[0])} << (8 * i);
      rest_.remove_prefix(1);
    }
    return v;
  }
  std::string_view Take(size_t n) {
    n = n < rest_.size() ? n : rest_.size();
    std::string_view out = rest_.substr(0, n);
    rest_.remove_prefix(n);
    return out;
  }

  std::string_view rest_;
};

// Writes what FuzzInput reads. Bytes() longer than 65535 are truncated.
class FuzzOutput {
 public:
  FuzzOutput& U8(uint8_t v) { return Uint(v, 1); }
  FuzzOutput& U16(uint16_t v) { return Uint(v, 2); }
  FuzzOutput& U32(uint32_t v) { return Uint(v, 4); }
  FuzzOutput& U64(uint64_t v) { return Uint(v, 8); }
  FuzzOutput& Bool(bool v) { return U8(v ? 1 : 0); }
  FuzzOutput& Bytes(std::string_view b) {
    if (b.size() > 0xffff) b = b.substr(0, 0xffff);
    U16(static_cast<uint16_t>(b.size()));
    out_.append(b);
    return *this;
  }
  FuzzOutput& Rest(std::string_view b) {
    out_.append(b);
    return *this;
  }
  const std::string& str() const { return out_; }

 private:
  FuzzOutput& Uint(uint64_t v, int width) {
    for (int i = 0; i < width; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
  }

  std::string out_;
};

}  // namespace fedge::fuzz

// Aborts with a message when an invariant a harness asserts does not hold.
// libFuzzer reports the abort as a crash and saves the input.
#define FEDGE_FUZZ_CHECK(cond, msg)                                               \
  do {                                                                            \
    if (!(cond)) {                                                                \
      ::fedge::fuzz::internal::Fail(__FILE__, __LINE__, #cond, (msg));            \
    }                                                                             \
  } while (0)

namespace fedge::fuzz::internal {
[[noreturn]] inline void Fail(const char* file, int line, const char* cond, std::string_view msg) {
  std::fprintf(stderr, "%s:%d: fuzz invariant violated: %s: %.*s\n", file, line, cond, static_cast<int>(msg.size()),
               msg.data());
  std::abort();
}
}  // namespace fedge::fuzz::internal

#endif  // FEDGE_FUZZ_FUZZ_INPUT_H_
