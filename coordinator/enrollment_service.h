// File: coordinator/enrollment_service.h
//
// The `Enrollment` gRPC service of proto/fedge.proto: Enroll, forwarded to
// `Enrolment` (enrolment.h). It is the one RPC served to callers without a
// client certificate (a device enrols to get one); CoordinatorServer
// (grpc_service.h) therefore requests but does not require client
// certificates when enrolment is on, and every other RPC checks for one.
//
// Thread-safety: gRPC calls Enroll concurrently; Enrolment is thread-safe.
#ifndef FEDGE_COORDINATOR_ENROLLMENT_SERVICE_H_
#define FEDGE_COORDINATOR_ENROLLMENT_SERVICE_H_

#include "coordinator/enrolment.h"
#include "proto/fedge.grpc.pb.h"

namespace fedge {

class EnrollmentService final : public proto::Enrollment::Service {
 public:
  // `enrolment` is borrowed; null refuses every call (enrolment is off).
  explicit EnrollmentService(Enrolment* enrolment) : enrolment_(enrolment) {}

  grpc::Status Enroll(grpc::ServerContext* context, const proto::EnrollRequest* request,
                      proto::EnrollResponse* response) override;

 private:
  Enrolment* const enrolment_;
};

}  // namespace fedge

#endif  // FEDGE_COORDINATOR_ENROLLMENT_SERVICE_H_
