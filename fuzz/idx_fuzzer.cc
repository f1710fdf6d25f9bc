// idx_fuzzer: the IDX image/label loader (core/idx.h) on the contents of a
// file, gzip-compressed or plain, through DecodeIdx: the code
// ReadIdxFile, LoadFashionMnist and fedge-infer's --images/--labels run.
//
// Input: the file contents, as they are (no framing).
//
// Invariants beyond "no crash, no sanitizer report, no OOM":
//   - errors are kInvalidArgument;
//   - an accepted array has rank 1..4 and exactly prod(dims) bytes;
//   - it round-trips: written back as plain IDX and parsed again, it gives
//     the same dims and data.
#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "core/idx.h"
#include "fuzz/fuzz_input.h"

namespace fedge::fuzz {
namespace {

std::string WriteIdx(const IdxArray& array) {
  std::string out = {'\0', '\0', '\x08', static_cast<char>(array.dims.size())};
  for (int64_t d : array.dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((d >> shift) & 0xff));
  }
  out.append(array.data.begin(), array.data.end());
  return out;
}

void FuzzOne(std::string_view contents) {
  absl::StatusOr<IdxArray> array = DecodeIdx(contents, "fuzz.idx");
  if (!array.ok()) {
    FEDGE_FUZZ_CHECK(array.status().code() == absl::StatusCode::kInvalidArgument, array.status().ToString());
    return;
  }
  FEDGE_FUZZ_CHECK(!array->dims.empty() && array->dims.size() <= 4, absl::StrCat("rank ", array->dims.size()));
  uint64_t count = 1;
  for (int64_t d : array->dims) {
    FEDGE_FUZZ_CHECK(d >= 0 && d <= 0xffffffffLL, absl::StrCat("dimension ", d));
    count *= static_cast<uint64_t>(d);
  }
  FEDGE_FUZZ_CHECK(count == array->data.size(),
                   absl::StrCat("dims promise ", count, " bytes, the array holds ", array->data.size()));
  absl::StatusOr<IdxArray> again = ParseIdx(WriteIdx(*array), "round-trip");
  FEDGE_FUZZ_CHECK(again.ok(), again.status().ToString());
  FEDGE_FUZZ_CHECK(again->dims == array->dims && again->data == array->data, "IDX does not round-trip");
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
