// File: core/crc32c.h
//
// CRC-32C (Castagnoli polynomial, the checksum of iSCSI, ext4 metadata and
// SSE 4.2's crc32 instruction): the integrity check of records fedge writes
// and reads back itself (coordinator/store/progress_file.h). Not a MAC: it
// detects torn writes and bit rot, not tampering.
//
// Uses the crc32 instruction on x86-64 CPUs with SSE 4.2 (several GB/s),
// a byte-wise table elsewhere.
//
// Thread-safety: a pure function.
#ifndef FEDGE_CORE_CRC32C_H_
#define FEDGE_CORE_CRC32C_H_

#include <cstdint>
#include <string_view>

namespace fedge {

// The CRC-32C of `bytes` appended to data whose CRC-32C is `crc` (0 for
// none): Crc32c(Crc32c(0, a), b) == Crc32c(0, a + b).
uint32_t Crc32c(uint32_t crc, std::string_view bytes);

}  // namespace fedge

#endif  // FEDGE_CORE_CRC32C_H_
