#include "client/enrol_client.h"

#include <grpcpp/grpcpp.h>

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"
#include "core/device_ca.h"
#include "core/file_util.h"
#include "core/logging.h"
#include "core/status.h"
#include "core/tls.h"
#include "proto/fedge.grpc.pb.h"

namespace fedge {
namespace {

absl::Status CheckOptions(const EnrolOptions& o) {
  if (o.target.empty()) return absl::InvalidArgumentError("enroll: --coordinator host:port is required");
  if (o.token.empty()) return absl::InvalidArgumentError("enroll: --token is required (fedgectl token create)");
  if (o.key_path.empty() || o.cert_path.empty()) {
    return absl::InvalidArgumentError(
        "enroll: --tls-key and --tls-cert name where the device's key is kept and its certificate is written");
  }
  if (o.wait < absl::ZeroDuration() || o.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("enroll: the wait must be >= 0 and the poll interval > 0");
  }
  return CheckDeviceId(o.device_id);
}

// The device's key: the existing file, or a new key written 0600 before
// anything is sent.
absl::StatusOr<std::string> DeviceKey(const EnrolOptions& o) {
  if (std::filesystem::exists(o.key_path)) return ReadFile(o.key_path);
  FEDGE_ASSIGN_OR_RETURN(std::string key, GenerateDeviceKey());
  std::error_code ec;
  const std::filesystem::path parent = std::filesystem::path(o.key_path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  FEDGE_RETURN_IF_ERROR(WritePrivateFile(o.key_path, key));
  FEDGE_LOG(INFO) << o.device_id << ": generated a new ECDSA P-256 key in " << o.key_path << " (mode 0600)";
  return key;
}

// OK when `cert_pem` goes with `key_pem` and names `device_id`.
absl::Status CheckOwnCertificate(const std::string& cert_pem, const std::string& key_pem,
                                 const std::string& device_id) {
  FEDGE_RETURN_IF_ERROR(CheckKeyCertPair({key_pem, cert_pem}));
  FEDGE_ASSIGN_OR_RETURN(std::string cn, CertCommonName(cert_pem));
  if (cn != device_id) {
    return absl::InvalidArgumentError(absl::StrCat("the certificate names \"", cn, "\", not \"", device_id, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<proto::Enrollment::Stub>> Connect(const EnrolOptions& o) {
  grpc::SslCredentialsOptions ssl;  // no client certificate: it is what we ask for
  if (!o.root_cert_pem_path.empty()) {
    FEDGE_ASSIGN_OR_RETURN(ssl.pem_root_certs, ReadFile(o.root_cert_pem_path));
  }
  grpc::ChannelArguments args;
  if (!o.ssl_target_name_override.empty()) args.SetSslTargetNameOverride(o.ssl_target_name_override);
  return proto::Enrollment::NewStub(grpc::CreateCustomChannel(o.target, grpc::SslCredentials(ssl), args));
}

absl::StatusOr<proto::EnrollResponse> Ask(proto::Enrollment::Stub& stub, const proto::EnrollRequest& request,
                                          const EnrolOptions& o) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(o.rpc_timeout));
  context.set_wait_for_ready(true);  // the deadline bounds the wait for the coordinator
  proto::EnrollResponse response;
  const grpc::Status status = stub.Enroll(&context, request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                        absl::StrCat("enrolment at ", o.target, ": ", status.error_message()));
  }
  return response;
}

absl::Status Save(const proto::EnrollResponse& issued, const std::string& key_pem, const EnrolOptions& o) {
  const absl::Status own = CheckOwnCertificate(issued.certificate_pem(), key_pem, o.device_id);
  if (!own.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the coordinator's certificate does not fit this device: ", own.message()));
  }
  FEDGE_RETURN_IF_ERROR(WritePublicFile(o.cert_path, issued.certificate_pem()));
  if (!o.ca_cert_path.empty()) FEDGE_RETURN_IF_ERROR(WritePublicFile(o.ca_cert_path, issued.ca_certificate_pem()));
  FEDGE_LOG(INFO) << o.device_id << ": enrolled; certificate saved in " << o.cert_path;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EnrolOutcome> Enrol(const EnrolOptions& o, Clock* clock) {
  FEDGE_RETURN_IF_ERROR(CheckOptions(o));
  FEDGE_ASSIGN_OR_RETURN(const std::string key_pem, DeviceKey(o));
  if (std::filesystem::exists(o.cert_path)) {
    FEDGE_ASSIGN_OR_RETURN(std::string cert_pem, ReadFile(o.cert_path));
    if (CheckOwnCertificate(cert_pem, key_pem, o.device_id).ok()) {
      FEDGE_LOG(INFO) << o.device_id << ": already enrolled (" << o.cert_path << " fits the key)";
      return EnrolOutcome::kIssued;
    }
  }
  proto::EnrollRequest request;
  request.set_token(o.token);
  request.set_device_id(o.device_id);
  FEDGE_ASSIGN_OR_RETURN(*request.mutable_csr_pem(), MakeCsr(key_pem, o.device_id));
  FEDGE_ASSIGN_OR_RETURN(std::unique_ptr<proto::Enrollment::Stub> stub, Connect(o));
  const absl::Time give_up = clock->Now() + o.wait;
  for (;;) {
    FEDGE_ASSIGN_OR_RETURN(proto::EnrollResponse answer, Ask(*stub, request, o));
    if (answer.state() == proto::ENROLL_STATE_ISSUED) {
      FEDGE_RETURN_IF_ERROR(Save(answer, key_pem, o));
      return EnrolOutcome::kIssued;
    }
    if (answer.state() != proto::ENROLL_STATE_PENDING) {
      return absl::InternalError(absl::StrCat("enrolment: the coordinator answered state ", answer.state()));
    }
    if (clock->Now() + o.poll_interval > give_up) break;
    FEDGE_LOG(INFO) << o.device_id << ": pending approval (fedgectl device approve " << o.device_id
                    << "); asking again in " << o.poll_interval;
    clock->SleepFor(o.poll_interval);
  }
  return EnrolOutcome::kPending;
}

}  // namespace fedge
