// File: coordinator/enrolment.h
//
// Enrolment and revocation of devices (coordinator/README.md, "Enrolment").
// The device makes its own key pair and sends a certificate signing request
// (CSR, core/device_ca.h) with a one-time bootstrap token; `Enrolment`
// checks both, signs the CSR with the device CA's key, and keeps the record
// in the EnrolmentStore. With `require_approval` the device is pending until
// an operator approves it; until then, asking again with the same token and
// key answers "pending", and once approved returns the certificate.
//
// The device id comes from the request (a token names no device: tokens are
// made in bulk, before anyone knows which device will use which). The CSR's
// only subject entry must be CN=<that id>, and an id that is enrolled or
// registered already is refused, so an id cannot be taken over.
//
// Revocation marks the device revoked in the fleet registry (the Federation
// then refuses its every RPC) and in its enrolment, and rewrites the CRL
// file, signed by the device CA, for other TLS terminators.
//
// Thread-safety: all methods are safe to call concurrently (one mutex; each
// call is short: a signature at most).
#ifndef FEDGE_COORDINATOR_ENROLMENT_H_
#define FEDGE_COORDINATOR_ENROLMENT_H_

#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/federation.h"
#include "coordinator/store/enrolment_store.h"
#include "core/env.h"
#include "core/random.h"
#include "core/tls.h"
#include "proto/fedge.pb.h"

namespace fedge {

struct EnrolmentOptions {
  // The device CA: its certificate (the first of server.client_ca) and key
  // ([enrolment] ca_key). Required.
  TlsKeyCertPair ca;
  // Devices wait in `pending` until `fedgectl device approve ID`.
  bool require_approval = false;
  // Validity of the certificates it issues.
  absl::Duration certificate_validity = absl::Hours(24 * 365);
  // The CRL file, rewritten atomically at Create() and on every revocation.
  // Required.
  std::string crl_path;
};

class Enrolment {
 public:
  // `store`, `federation`, `clock` and `random` are borrowed and must
  // outlive the Enrolment. Checks the CA, brings the registry in line with
  // the stored enrolments (pending and revoked devices, e.g. after a new
  // run) and writes the CRL. kInvalidArgument for bad options or CA
  // material; the store's or the file system's error otherwise.
  static absl::StatusOr<std::unique_ptr<Enrolment>> Create(EnrolmentOptions options, EnrolmentStore* store,
                                                           Federation* federation, Clock* clock,
                                                           SecureRandom* random);

  // Admin: `count` (1-100) new tokens valid for `ttl_seconds` (1 s to 30
  // days), returned once; only their SHA-256 is stored.
  absl::StatusOr<proto::CreateTokensResponse> CreateTokens(const proto::CreateTokensRequest& request);
  // A device (untrusted request): kInvalidArgument for a malformed token,
  // id or CSR; kPermissionDenied for an unknown, used or expired token or a
  // revoked device; kAlreadyExists for an id enrolled or registered
  // already. Otherwise ISSUED with the certificate, or PENDING.
  absl::StatusOr<proto::EnrollResponse> Enroll(const proto::EnrollRequest& request);
  // Admin: signs a pending device's CSR and makes it active (a device
  // already approved is answered as is). kNotFound without an enrolment;
  // kFailedPrecondition for a revoked device.
  absl::StatusOr<proto::DeviceSummary> Approve(std::string_view device_id);
  // Admin: revokes a device, enrolled or registered with another
  // certificate (idempotent). Its certificate's serial goes into the CRL
  // when it was issued here. kNotFound for an unknown id.
  absl::StatusOr<proto::DeviceSummary> Revoke(std::string_view device_id);

 private:
  Enrolment(EnrolmentOptions options, EnrolmentStore* store, Federation* federation, Clock* clock,
            SecureRandom* random);
  absl::Status SyncRegistry() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WriteCrl() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The answer to the holder of `stored`'s token asking again.
  absl::StatusOr<proto::EnrollResponse> AnswerAgain(const StoredEnrolment& stored,
                                                    const std::string& key_sha256) const;
  proto::EnrollResponse Issued(const std::string& certificate_pem) const;

  const EnrolmentOptions options_;
  EnrolmentStore* const store_;
  Federation* const federation_;
  Clock* const clock_;
  SecureRandom* const random_;
  absl::Mutex mu_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_ENROLMENT_H_
