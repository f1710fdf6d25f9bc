# fedge::coordinator_grpc — the coordinator as a network service: gRPC
# service adapter over Federation, round reports and the
# coordinator config schema. Free of LibTorch; only the fedge-coordinator
# binary links the model zoo and the evaluator.
fedge_cc_library(
  NAME coordinator_grpc
  SRCS admin_backup.cc admin_service.cc coordinator_config.cc device_service.cc enrolment.cc enrollment_service.cc
       grpc_service.cc peer_identity.cc round_report.cc rounds_csv_file.cc server_credentials.cc state_setup.cc
  HDRS admin_backup.h admin_service.h coordinator_config.h device_service.h enrolment.h enrollment_service.h
       grpc_service.h peer_identity.h round_report.h rounds_csv_file.h server_credentials.h state_setup.h
  DEPS fedge::coordinator fedge::settings fedge::tls fedge::aggregation fedge::core gRPC::grpc++
)

# Test-only device end of the service: the generated gRPC stub behind the
# Transport interface, so the coordinator's tests link nothing from client/.
fedge_cc_library(
  NAME coordinator_stub_device
  SRCS testing/stub_device.cc
  HDRS testing/stub_device.h
  DEPS fedge::core fedge::tls fedge::proto gRPC::grpc++
)

fedge_cc_test(NAME grpc_service_test
  SRCS coordinator_config_test.cc grpc_service_test.cc round_report_test.cc rounds_csv_file_test.cc state_setup_test.cc
  DEPS fedge::coordinator_grpc fedge::coordinator_stub_device fedge::aggregation)

# Enrolment and revocation: tokens, CSRs, approval, the registry and the CRL.
fedge_cc_test(NAME coordinator_enrolment_test
  SRCS enrolment_test.cc testing/federation_fixtures.cc
  DEPS fedge::coordinator_grpc fedge::state_store)

# The [deploy] settings as a DistillingDeployer, for fedge-coordinator and
# fedge-sim alike. LibTorch.
fedge_cc_library(
  NAME deploy_setup
  SRCS deploy_setup.cc
  HDRS deploy_setup.h
  DEPS fedge::settings fedge::models fedge::model_compression
  TORCH
)

# The service binary. Only here do LibTorch (model zoo, test-set evaluator,
# the distilling deployer) and CLI11 come in.
fedge_cc_binary(NAME fedge-coordinator
  SRCS coordinator_main.cc
  DEPS fedge::coordinator_grpc fedge::coordinator_metrics fedge::deploy_setup fedge::models fedge::mqtt CLI11::CLI11
  TORCH)
