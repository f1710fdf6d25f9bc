// File: coordinator/store/enrolment_store.h
//
// The durable records of enrolment (coordinator/enrolment.h): one-time
// bootstrap tokens, kept only as their SHA-256, and one enrolment per device
// id (its certificate signing request, state and issued certificate).
// Schema version 5 (schema.h); SqliteStateStore implements it. Tokens and
// enrolments are the fleet's identities, not a run's state: StartRun keeps
// them.
//
// Contract: as StateStore's — an OK call is durable, a failed one changed
// nothing.
//
// Thread-safety: implementations are safe for concurrent use; ConsumeToken
// is atomic, so two devices racing with one token cannot both win.
#ifndef FEDGE_COORDINATOR_STORE_ENROLMENT_STORE_H_
#define FEDGE_COORDINATOR_STORE_ENROLMENT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fedge {

struct StoredToken {
  std::string sha256;  // lower-case hex of the token text; the token itself is never stored
  int64_t created_unix_micros = 0;
  int64_t expires_unix_micros = 0;
};

// Stored as integers: never renumber.
enum class EnrolmentState : int64_t { kPending = 1, kIssued = 2, kRevoked = 3 };

struct StoredEnrolment {
  std::string device_id;
  std::string token_sha256;       // the token it consumed
  std::string public_key_sha256;  // of the CSR's key (core/device_ca.h CheckedCsr)
  std::string csr_pem;            // kept until approval signs it
  EnrolmentState state = EnrolmentState::kPending;
  std::string certificate_pem;    // once issued
  std::string serial_hex;         // of certificate_pem
  int64_t requested_unix_micros = 0;
  int64_t revoked_unix_micros = 0;
};

class EnrolmentStore {
 public:
  virtual ~EnrolmentStore() = default;

  // Stores new tokens; forgets tokens that expired over a week before
  // `now_unix_micros` (a token that old is refused as unknown).
  virtual absl::Status AddTokens(const std::vector<StoredToken>& tokens, int64_t now_unix_micros) = 0;
  // In one transaction: the token `enrolment.token_sha256` must be known,
  // unused and expire after `now_unix_micros`; it is marked used by
  // `enrolment.device_id` and `enrolment` is stored. kPermissionDenied
  // saying whether the token is unknown, already used or expired;
  // kAlreadyExists when the device id already has an enrolment.
  virtual absl::Status ConsumeToken(const StoredEnrolment& enrolment, int64_t now_unix_micros) = 0;
  // nullopt when `device_id` never enrolled.
  virtual absl::StatusOr<std::optional<StoredEnrolment>> FindEnrolment(std::string_view device_id) = 0;
  // Replaces the stored enrolment of `enrolment.device_id` (approval,
  // revocation). kNotFound when there is none.
  virtual absl::Status UpdateEnrolment(const StoredEnrolment& enrolment) = 0;
  // Every enrolment in `state`, by device id.
  virtual absl::StatusOr<std::vector<StoredEnrolment>> ListEnrolments(EnrolmentState state) = 0;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_STORE_ENROLMENT_STORE_H_
