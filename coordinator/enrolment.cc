#include "coordinator/enrolment.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "coordinator/store/model_files.h"
#include "core/device_ca.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/strings.h"

namespace fedge {
namespace {

constexpr uint32_t kMaxTokensPerCall = 100;
constexpr int64_t kMinTokenTtlSeconds = 1;
constexpr int64_t kMaxTokenTtlSeconds = int64_t{30} * 24 * 3600;
constexpr size_t kTokenBytes = 24;      // 192 random bits
constexpr size_t kMaxTokenLength = 128;  // a token is 48 hex digits; anything much longer is not one

std::string HexToken(SecureRandom& random) {
  uint8_t bytes[kTokenBytes];
  random.Fill(absl::MakeSpan(bytes));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token;
  for (uint8_t b : bytes) {
    token.push_back(kHex[b >> 4]);
    token.push_back(kHex[b & 15]);
  }
  return token;
}

absl::Status CheckToken(const std::string& token) {
  if (token.empty() || token.size() > kMaxTokenLength) {
    return absl::InvalidArgumentError(absl::StrCat("an enrolment token has 1 to ", kMaxTokenLength,
                                                   " characters, got ", token.size(),
                                                   " (fedgectl token create prints them)"));
  }
  return absl::OkStatus();
}

}  // namespace

Enrolment::Enrolment(EnrolmentOptions options, EnrolmentStore* store, Federation* federation, Clock* clock,
                     SecureRandom* random)
    : options_(std::move(options)), store_(store), federation_(federation), clock_(clock), random_(random) {}

absl::StatusOr<std::unique_ptr<Enrolment>> Enrolment::Create(EnrolmentOptions options, EnrolmentStore* store,
                                                             Federation* federation, Clock* clock,
                                                             SecureRandom* random) {
  if (store == nullptr || federation == nullptr || clock == nullptr || random == nullptr) {
    return absl::InvalidArgumentError("enrolment needs a store, a federation, a clock and a random source");
  }
  if (options.crl_path.empty()) return absl::InvalidArgumentError("enrolment needs a CRL path ([enrolment] crl)");
  if (options.certificate_validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("enrolment: the certificate validity must be positive");
  }
  // Signing a throw-away CRL checks the CA pair (key matches, CA:TRUE).
  if (absl::StatusOr<std::string> probe = MakeCrl(options.ca, {}, clock->Now()); !probe.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("enrolment: the device CA ([enrolment] ca_key with the first "
                                                   "certificate of server.client_ca) cannot sign: ",
                                                   probe.status().message()));
  }
  std::unique_ptr<Enrolment> enrolment(new Enrolment(std::move(options), store, federation, clock, random));
  absl::MutexLock lock(&enrolment->mu_);
  FEDGE_RETURN_IF_ERROR(enrolment->SyncRegistry());
  FEDGE_RETURN_IF_ERROR(enrolment->WriteCrl());
  return enrolment;
}

absl::Status Enrolment::SyncRegistry() {
  for (auto [state, status] : {std::pair(EnrolmentState::kPending, proto::DEVICE_STATUS_PENDING),
                               std::pair(EnrolmentState::kRevoked, proto::DEVICE_STATUS_REVOKED)}) {
    FEDGE_ASSIGN_OR_RETURN(std::vector<StoredEnrolment> enrolments, store_->ListEnrolments(state));
    for (const StoredEnrolment& e : enrolments) {
      absl::StatusOr<proto::DeviceSummary> known = federation_->GetDevice(e.device_id);
      if (known.ok() && known->status() == status) continue;
      FEDGE_RETURN_IF_ERROR(federation_->SetDeviceStatus(e.device_id, status).status());
    }
  }
  return absl::OkStatus();
}

absl::Status Enrolment::WriteCrl() {
  FEDGE_ASSIGN_OR_RETURN(std::vector<StoredEnrolment> revoked, store_->ListEnrolments(EnrolmentState::kRevoked));
  std::vector<RevokedCert> entries;
  for (const StoredEnrolment& e : revoked) {
    if (!e.serial_hex.empty()) entries.push_back({e.serial_hex, absl::FromUnixMicros(e.revoked_unix_micros)});
  }
  FEDGE_ASSIGN_OR_RETURN(std::string crl, MakeCrl(options_.ca, entries, clock_->Now()));
  absl::Status written = WritePublicFile(options_.crl_path, crl);
  if (!written.ok()) {
    return absl::Status(written.code(), absl::StrCat("writing the CRL ", options_.crl_path, ": ", written.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<proto::CreateTokensResponse> Enrolment::CreateTokens(const proto::CreateTokensRequest& request) {
  if (request.count() < 1 || request.count() > kMaxTokensPerCall) {
    return absl::InvalidArgumentError(
        absl::StrCat("token count must be 1 to ", kMaxTokensPerCall, ", got ", request.count()));
  }
  if (request.ttl_seconds() < kMinTokenTtlSeconds || request.ttl_seconds() > kMaxTokenTtlSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("token lifetime must be 1 s to 30 days (720h), got ",
                                                   request.ttl_seconds(), " s"));
  }
  const absl::Time now = clock_->Now();
  const int64_t expires = absl::ToUnixMicros(now + absl::Seconds(request.ttl_seconds()));
  proto::CreateTokensResponse response;
  std::vector<StoredToken> stored;
  for (uint32_t i = 0; i < request.count(); ++i) {
    std::string token = HexToken(*random_);
    stored.push_back({Sha256Hex(token), absl::ToUnixMicros(now), expires});
    response.add_tokens(std::move(token));
  }
  response.set_expires_unix_micros(expires);
  absl::MutexLock lock(&mu_);
  FEDGE_RETURN_IF_ERROR(store_->AddTokens(stored, absl::ToUnixMicros(now)));
  FEDGE_LOG(INFO) << "enrolment: created " << request.count() << " token(s), valid for " << request.ttl_seconds()
                  << " s";
  return response;
}

proto::EnrollResponse Enrolment::Issued(const std::string& certificate_pem) const {
  proto::EnrollResponse response;
  response.set_state(proto::ENROLL_STATE_ISSUED);
  response.set_certificate_pem(certificate_pem);
  response.set_ca_certificate_pem(options_.ca.cert_chain_pem);
  return response;
}

absl::StatusOr<proto::EnrollResponse> Enrolment::AnswerAgain(const StoredEnrolment& stored,
                                                             const std::string& key_sha256) const {
  if (stored.public_key_sha256 != key_sha256) {
    return absl::AlreadyExistsError(absl::StrCat("device id \"", stored.device_id,
                                                 "\" is already enrolled with another key; enrol under another id"));
  }
  switch (stored.state) {
    case EnrolmentState::kIssued:
      return Issued(stored.certificate_pem);
    case EnrolmentState::kPending: {
      proto::EnrollResponse response;
      response.set_state(proto::ENROLL_STATE_PENDING);
      return response;
    }
    case EnrolmentState::kRevoked:
      break;
  }
  return absl::PermissionDeniedError(absl::StrCat("device \"", stored.device_id, "\" is revoked"));
}

absl::StatusOr<proto::EnrollResponse> Enrolment::Enroll(const proto::EnrollRequest& request) {
  FEDGE_RETURN_IF_ERROR(CheckToken(request.token()));
  const std::string& id = request.device_id();
  FEDGE_RETURN_IF_ERROR(CheckDeviceId(id));
  FEDGE_ASSIGN_OR_RETURN(CheckedCsr csr, CheckCsr(request.csr_pem(), id));
  const std::string token_sha256 = Sha256Hex(request.token());

  absl::MutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(std::optional<StoredEnrolment> stored, store_->FindEnrolment(id));
  // The same token asking again is answered again. Another token goes on
  // to ConsumeToken, which refuses a bad token before it says the id is
  // taken: only a valid token's holder learns which ids are enrolled.
  if (stored.has_value() && stored->token_sha256 == token_sha256) {
    return AnswerAgain(*stored, csr.public_key_sha256);
  }
  if (federation_->GetDevice(id).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("device id \"", id,
                                                 "\" is registered already (with a certificate not issued by "
                                                 "enrolment); enrol under another id"));
  }
  StoredEnrolment e;
  e.device_id = id;
  e.token_sha256 = token_sha256;
  e.public_key_sha256 = csr.public_key_sha256;
  e.csr_pem = request.csr_pem();
  e.requested_unix_micros = absl::ToUnixMicros(clock_->Now());
  if (!options_.require_approval) {
    // Signed before the token is consumed: a failure here leaves it usable.
    FEDGE_ASSIGN_OR_RETURN(IssuedCert cert, SignCsr(options_.ca, e.csr_pem, id, options_.certificate_validity));
    e.state = EnrolmentState::kIssued;
    e.certificate_pem = std::move(cert.certificate_pem);
    e.serial_hex = std::move(cert.serial_hex);
  }
  FEDGE_RETURN_IF_ERROR(store_->ConsumeToken(e, e.requested_unix_micros));
  if (options_.require_approval) {
    // Logged, not returned: the enrolment is stored, and Create() sets the
    // registry status again at the next start.
    absl::Status listed = federation_->SetDeviceStatus(id, proto::DEVICE_STATUS_PENDING).status();
    if (!listed.ok()) FEDGE_LOG(WARNING) << "enrolment: device " << id << " not listed as pending: " << listed;
    FEDGE_LOG(INFO) << "enrolment: device " << id << " is pending approval (fedgectl device approve " << id << ")";
    proto::EnrollResponse response;
    response.set_state(proto::ENROLL_STATE_PENDING);
    return response;
  }
  FEDGE_LOG(INFO) << "enrolment: issued a certificate to device " << id << " (serial " << e.serial_hex << ")";
  return Issued(e.certificate_pem);
}

absl::StatusOr<proto::DeviceSummary> Enrolment::Approve(std::string_view device_id) {
  absl::MutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(std::optional<StoredEnrolment> stored, store_->FindEnrolment(device_id));
  if (!stored.has_value()) {
    return absl::NotFoundError(absl::StrCat("device \"", AsAbsl(device_id),
                                            "\" has not enrolled (fedgectl devices --status pending lists those "
                                            "waiting)"));
  }
  StoredEnrolment& e = *stored;
  if (e.state == EnrolmentState::kRevoked) {
    return absl::FailedPreconditionError(absl::StrCat("device \"", e.device_id, "\" is revoked; it cannot be approved"));
  }
  if (e.state == EnrolmentState::kPending) {
    FEDGE_ASSIGN_OR_RETURN(IssuedCert cert,
                           SignCsr(options_.ca, e.csr_pem, e.device_id, options_.certificate_validity));
    e.state = EnrolmentState::kIssued;
    e.certificate_pem = std::move(cert.certificate_pem);
    e.serial_hex = std::move(cert.serial_hex);
    FEDGE_RETURN_IF_ERROR(store_->UpdateEnrolment(e));
    FEDGE_LOG(INFO) << "enrolment: device " << e.device_id << " approved (serial " << e.serial_hex << ")";
  }
  return federation_->SetDeviceStatus(e.device_id, proto::DEVICE_STATUS_ACTIVE);
}

absl::StatusOr<proto::DeviceSummary> Enrolment::Revoke(std::string_view device_id) {
  absl::MutexLock lock(&mu_);
  FEDGE_ASSIGN_OR_RETURN(std::optional<StoredEnrolment> stored, store_->FindEnrolment(device_id));
  if (!stored.has_value() && !federation_->GetDevice(device_id).ok()) {
    return absl::NotFoundError(absl::StrCat("device \"", AsAbsl(device_id),
                                            "\" is neither enrolled nor registered (fedgectl devices lists them)"));
  }
  // The registry first: from here on the device's RPCs are refused.
  FEDGE_ASSIGN_OR_RETURN(proto::DeviceSummary summary,
                         federation_->SetDeviceStatus(device_id, proto::DEVICE_STATUS_REVOKED));
  if (stored.has_value() && stored->state != EnrolmentState::kRevoked) {
    stored->state = EnrolmentState::kRevoked;
    stored->revoked_unix_micros = absl::ToUnixMicros(clock_->Now());
    FEDGE_RETURN_IF_ERROR(store_->UpdateEnrolment(*stored));
  }
  FEDGE_RETURN_IF_ERROR(WriteCrl());
  FEDGE_LOG(INFO) << "enrolment: device " << AsAbsl(device_id) << " revoked"
                  << (stored.has_value() && !stored->serial_hex.empty()
                          ? absl::StrCat("; serial ", stored->serial_hex, " is in ", options_.crl_path)
                          : std::string("; it had no certificate issued here, so the CRL is unchanged"));
  return summary;
}

}  // namespace fedge
