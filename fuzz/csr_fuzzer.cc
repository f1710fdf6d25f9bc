// csr_fuzzer: the coordinator's check of an enrolment request's certificate
// signing request (core/device_ca.h CheckCsr), the bytes a device without a
// certificate may send (coordinator/enrolment.h), then signing what passes.
//
// Input: the CSR as sent (PEM text, no framing); the device id asked for is
// always "fuzz-device" (the seeds' CN).
//
// Invariants beyond "no crash, no sanitizer report, no OOM":
//   - errors are kInvalidArgument;
//   - an accepted CSR has a 64-digit key fingerprint, and SignCsr with a
//     fixed CA issues a certificate whose CN is the device id and that
//     verifies as a TLS client of that CA.
#include <cstdint>
#include <string>

#include "core/device_ca.h"
#include "core/tls.h"
#include "fuzz/fuzz_input.h"

namespace fedge::fuzz {
namespace {

constexpr char kDeviceId[] = "fuzz-device";

const TlsKeyCertPair& Ca() {
  static const TlsKeyCertPair* ca = new TlsKeyCertPair(*GenerateDevCa());
  return *ca;
}

void FuzzOne(std::string_view csr) {
  absl::StatusOr<CheckedCsr> checked = CheckCsr(csr, kDeviceId);
  if (!checked.ok()) {
    FEDGE_FUZZ_CHECK(checked.status().code() == absl::StatusCode::kInvalidArgument, checked.status().ToString());
    return;
  }
  FEDGE_FUZZ_CHECK(checked->public_key_sha256.size() == 64, "key fingerprint is not 64 hex digits");
  absl::StatusOr<IssuedCert> issued = SignCsr(Ca(), csr, kDeviceId);
  FEDGE_FUZZ_CHECK(issued.ok(), issued.status().ToString());
  absl::StatusOr<std::string> cn = CertCommonName(issued->certificate_pem);
  FEDGE_FUZZ_CHECK(cn.ok() && *cn == kDeviceId, "the issued certificate names another subject");
  const absl::Status verified = VerifyClientCert(issued->certificate_pem, Ca().cert_chain_pem);
  FEDGE_FUZZ_CHECK(verified.ok(), verified.ToString());
}

}  // namespace
}  // namespace fedge::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fedge::fuzz::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
