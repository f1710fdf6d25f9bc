#include "coordinator/enrollment_service.h"

#include <string>

#include "core/logging.h"

namespace fedge {

grpc::Status EnrollmentService::Enroll(grpc::ServerContext* context, const proto::EnrollRequest* request,
                                       proto::EnrollResponse* response) {
  if (enrolment_ == nullptr) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                        "this coordinator does not enrol devices (no device CA key configured); ask its operator "
                        "for a device certificate");
  }
  absl::StatusOr<proto::EnrollResponse> answer = enrolment_->Enroll(*request);
  if (!answer.ok()) {
    // The device id is bounded by the check that refused it, or valid.
    FEDGE_LOG(WARNING) << "enrolment refused (peer " << context->peer() << "): " << answer.status();
    return grpc::Status(static_cast<grpc::StatusCode>(answer.status().code()), std::string(answer.status().message()));
  }
  *response = *std::move(answer);
  return grpc::Status::OK;
}

}  // namespace fedge
