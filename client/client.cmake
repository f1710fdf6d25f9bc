# fedge::client — the device agent (Device), the Trainer interface and its
# LibTorch implementation, the device config, and the fedge-device binary.
# Included from client/CMakeLists.txt. The gRPC transport is its own
# LibTorch-free target, fedge::client_grpc (grpc.cmake).
# fedge::drift_response — the device's response to drift alarms (monitor,
# recent-data priority, report). LibTorch-free.
fedge_cc_library(
  NAME drift_response
  SRCS drift_response.cc drift_settings.cc
  HDRS drift_response.h drift_settings.h
  DEPS fedge::drift fedge::core fedge::proto absl::span absl::status absl::statusor absl::strings
)

fedge_cc_test(NAME drift_response_test
  SRCS drift_response_test.cc
  DEPS fedge::drift_response fedge::device_data)

# fedge::outbox (outbox.cmake; also part of the device-only build).
include(${CMAKE_CURRENT_LIST_DIR}/outbox.cmake)

fedge_cc_library(
  NAME client
  SRCS device.cc device_conditions.cc device_config.cc device_data_setup.cc device_pipeline.cc inference_health.cc
       inference_server.cc secagg_exchange.cc device_secagg.cc
       torch_scorer.cc trainer.cc
  HDRS device.h device_conditions.h device_config.h device_data_setup.h device_pipeline.h example_scorer.h
       inference_health.h
       inference_server.h secagg_exchange.h torch_scorer.h trainer.h
  DEPS fedge::secagg fedge::core fedge::settings fedge::compression fedge::models fedge::dpsgd fedge::privacy fedge::proto fedge::drift_response fedge::device_data fedge::outbox fedge::inference absl::function_ref absl::synchronization absl::time
  TORCH
)

include(${CMAKE_CURRENT_SOURCE_DIR}/grpc.cmake)

# The device's side of secure aggregation: the task's code width (int8/int4),
# quantization on the shared scale, the tasks it refuses.
fedge_cc_test(NAME secagg_exchange_test
  SRCS secagg_exchange_test.cc
  DEPS fedge::client
  TORCH)

fedge_cc_test(NAME client_test
  SRCS csv_training_test.cc device_conditions_test.cc device_config_test.cc device_outbox_test.cc device_pipeline_test.cc device_test.cc
      
       inference_server_test.cc trainer_test.cc
  DEPS fedge::client fedge::inference_testing
  TORCH)

# The agent binary needs the transports: gRPC (grpc.cmake: fedge::client_grpc)
# and MQTT (mqtt/: fedge::mqtt).
fedge_cc_binary(NAME fedge-device
  SRCS device_main.cc
  DEPS fedge::client fedge::client_grpc fedge::mqtt CLI11::CLI11
  TORCH)
