// File: client/enrol_client.h
//
// The device's side of enrolment (`fedge-device enroll`, client/README.md):
// it makes its ECDSA P-256 key itself and keeps it in a 0600 file (the key
// never leaves the device), sends a certificate signing request with a
// one-time token to the coordinator's Enrollment service over
// server-authenticated TLS (no client certificate yet), and saves the
// certificate it gets back. The device then runs with mutual TLS as usual
// (--tls-cert/--tls-key).
//
// Re-running is safe: an existing key file is reused, so a device that is
// pending approval, or lost the answer, asks again with the same token and
// key and gets "pending" or its certificate.
//
// Thread-safety: a free function; concurrent runs must use different files.
#ifndef FEDGE_CLIENT_ENROL_CLIENT_H_
#define FEDGE_CLIENT_ENROL_CLIENT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/env.h"

namespace fedge {

struct EnrolOptions {
  std::string target;                    // coordinator host:port
  std::string root_cert_pem_path;        // trusts the coordinator's TLS certificate; empty: system roots
  std::string ssl_target_name_override;  // testing only
  std::string token;                     // from fedgectl token create
  std::string device_id;                 // becomes the certificate's CN
  std::string key_path;                  // created 0600 if missing, reused otherwise
  std::string cert_path;                 // written (0644) once issued
  std::string ca_cert_path;              // optional: the device CA's certificate is written here
  // While the answer is "pending", ask again every `poll_interval` until
  // `wait` has passed (0: ask once).
  absl::Duration wait = absl::ZeroDuration();
  absl::Duration poll_interval = absl::Seconds(2);
  absl::Duration rpc_timeout = absl::Seconds(30);
};

enum class EnrolOutcome { kIssued, kPending };

// kIssued once the certificate is saved (or a valid one for this key and
// id was already there); kPending when approval is still awaited after
// `wait`. Errors: the coordinator's refusal as it sent it (a used or
// expired token is kPermissionDenied), kInvalidArgument for bad options or
// a certificate that does not match the key or the id, kUnavailable when
// the coordinator cannot be reached.
absl::StatusOr<EnrolOutcome> Enrol(const EnrolOptions& options, Clock* clock);

}  // namespace fedge

#endif  // FEDGE_CLIENT_ENROL_CLIENT_H_
