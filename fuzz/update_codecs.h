// File: fuzz/update_codecs.h
//
// The codec pipelines the update and federation harnesses pick from with
// one input byte, and for which the seed maker writes one seed each: every
// value stage, non-default block sizes, top-k in front of each kind of
// value stage, and zstd behind them.
#ifndef FEDGE_FUZZ_UPDATE_CODECS_H_
#define FEDGE_FUZZ_UPDATE_CODECS_H_

#include <cstddef>
#include <string_view>

namespace fedge::fuzz {

inline constexpr std::string_view kUpdateCodecs[] = {
    "fp32",        "fp16",          "int8",           "int8:16",           "int4",
    "int4:8",      "sign",          "sign:8",         "topk:0.1",          "topk:0.05>int8",
    "topk:0.2>int4:32", "topk:0.1>sign:64", "int8>zstd", "fp16>zstd:1", "topk:0.1>int8>zstd",
    "zstd",        "sign>zstd:19",
};
inline constexpr size_t kNumUpdateCodecs = sizeof(kUpdateCodecs) / sizeof(kUpdateCodecs[0]);

}  // namespace fedge::fuzz

#endif  // FEDGE_FUZZ_UPDATE_CODECS_H_
