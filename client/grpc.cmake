# fedge::client_grpc — the device side of the gRPC transport
# (client/grpc_transport.h). Links only fedge::core, fedge::tls (checks of
# the device's client certificate; the CSR of enrolment) and gRPC: no
# LibTorch. Paths are relative
# to this file so it can be included from any directory.
fedge_cc_library(
  NAME client_grpc
  SRCS ${CMAKE_CURRENT_LIST_DIR}/enrol_client.cc ${CMAKE_CURRENT_LIST_DIR}/grpc_transport.cc
  HDRS ${CMAKE_CURRENT_LIST_DIR}/enrol_client.h ${CMAKE_CURRENT_LIST_DIR}/grpc_transport.h
  DEPS fedge::core fedge::tls gRPC::grpc++
)

fedge_cc_test(NAME grpc_transport_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/grpc_transport_test.cc
  DEPS fedge::client_grpc)
