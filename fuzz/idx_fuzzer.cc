// idx_fuzzer: the IDX image/label loader (core/idx.h) on the contents of a
// file, gzip-compressed or plain, through DecodeIdx (ReadIdxFile,
// fedge-infer's --images/--labels) and through IdxStream
// (core/idx_stream.h: LoadFashionMnist and a device's shard), which must
// agree.
//
// Input: the file contents, as they are (no framing).
//
// Invariants beyond "no crash, no sanitizer report, no OOM":
//   - errors are kInvalidArgument;
//   - an accepted array has rank 1..4 and exactly prod(dims) bytes;
//   - it round-trips: written back as plain IDX and parsed again, it gives
//     the same dims and data;
//   - IdxStream, reading the same bytes from a file in uneven pieces, accepts
//     exactly what DecodeIdx accepts, with the same dims and data.
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/idx.h"
#include "core/idx_stream.h"
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

// The contents read through IdxStream from a file, in pieces of 1, 2, 3...
// bytes; an error as DecodeIdx would give one.
absl::StatusOr<IdxArray> Streamed(std::string_view contents) {
  static const std::string path = absl::StrCat("/tmp/idx_fuzzer.", getpid(), ".idx");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  FEDGE_FUZZ_CHECK(f != nullptr, "cannot write the temporary file");
  FEDGE_FUZZ_CHECK(std::fwrite(contents.data(), 1, contents.size(), f) == contents.size(), "short write");
  std::fclose(f);
  absl::StatusOr<std::unique_ptr<IdxStream>> stream = IdxStream::Open(path);
  if (!stream.ok()) return stream.status();
  IdxArray array;
  array.dims = (*stream)->dims();
  // Appended as read: a header promising more than the file holds costs
  // only what the file holds.
  std::vector<uint8_t> piece;
  for (size_t n = 1; (*stream)->remaining() > 0; ++n) {
    piece.resize(std::min<uint64_t>(n, (*stream)->remaining()));
    if (absl::Status read = (*stream)->Read(absl::MakeSpan(piece)); !read.ok()) return read;
    array.data.insert(array.data.end(), piece.begin(), piece.end());
  }
  if (absl::Status done = (*stream)->Finish(); !done.ok()) return done;
  return array;
}

void FuzzOne(std::string_view contents) {
  absl::StatusOr<IdxArray> array = DecodeIdx(contents, "fuzz.idx");
  absl::StatusOr<IdxArray> streamed = Streamed(contents);
  FEDGE_FUZZ_CHECK(streamed.ok() == array.ok(), absl::StrCat("DecodeIdx: ", array.status().ToString(),
                                                            "; IdxStream: ", streamed.status().ToString()));
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
  FEDGE_FUZZ_CHECK(streamed->dims == array->dims && streamed->data == array->data,
                   "IdxStream read other dims or data than DecodeIdx");
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
