# The LibTorch part of simulations/: included from CMakeLists.txt.
# fedge-sim allocates with mimalloc (MIMALLOC: cmake/FedgeMimalloc.cmake), and
# so do the tests of the simulator, so they run the code as fedge-sim does.
fedge_cc_library(
  NAME sim
  SRCS simulator.cc simulator_async.cc simulator_gateway.cc simulator_secagg.cc virtual_device.cc grpc_loopback.cc
       attacking_trainer.cc privacy_runtime.cc run_variants.cc drift_sim.cc deploy_sim.cc
       device_trainers.cc remote_training.cc mpi_messages.cc
  HDRS simulator.h virtual_device.h grpc_loopback.h attacking_trainer.h
       privacy_runtime.h run_variants.h drift_sim.h deploy_sim.h
       device_trainers.h remote_training.h mpi_messages.h
  DEPS fedge::sim_base fedge::client fedge::client_grpc fedge::coordinator fedge::coordinator_grpc fedge::gateway
       fedge::models fedge::aggregation fedge::drift_response fedge::device_data fedge::model_compression fedge::deploy_setup
       fedge::inference
  TORCH
)

# Open MPI (fedge-sim run --mpi) is linked into the binary only: the
# libraries, and so find_package(fedge), stay free of it.
find_package(MPI REQUIRED COMPONENTS C)
fedge_cc_binary(NAME fedge-sim
  SRCS sim_main.cc mpi_channel.cc mpi_run.cc
  DEPS fedge::sim CLI11::CLI11 MPI::MPI_C
  TORCH MIMALLOC)
# The C API only: without these, mpi.h in C++ pulls in the deprecated C++
# bindings, which libmpi does not carry.
target_compile_definitions(fedge-sim PRIVATE OMPI_SKIP_MPICXX MPICH_SKIP_MPICXX)

# End-to-end tests live in tests/sim/.
set(FEDGE_SIM_TESTS ${PROJECT_SOURCE_DIR}/tests/sim)
fedge_cc_test(NAME sim_e2e_test
  SRCS ${FEDGE_SIM_TESTS}/simulator_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 120)
if(FEDGE_BUILD_TESTS)
  add_test(NAME sim_report_render_test
    COMMAND ${FEDGE_SIM_TESTS}/report_render_test.sh $<TARGET_FILE:fedge-sim> ${FEDGE_SIM_TESTS}/tiny.toml)
  set_tests_properties(sim_report_render_test PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 180)
  # scenarios/async.toml: async reaches the sync run's final accuracy in
  # <= 60% of its simulated time (issue #18).
  add_test(NAME sim_async_scenario_test
    COMMAND ${FEDGE_SIM_TESTS}/async_scenario_test.sh $<TARGET_FILE:fedge-sim>
            ${PROJECT_SOURCE_DIR}/simulations/scenarios/async.toml)
  set_tests_properties(sim_async_scenario_test PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900)
endif()

fedge_cc_test(NAME sim_device_test
  SRCS virtual_device_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 60)

# Variants and differential privacy, end to end (tests/sim/variants_dp_test.cc).
fedge_cc_test(NAME sim_variants_dp_test
  SRCS ${FEDGE_SIM_TESTS}/variants_dp_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 120)

# A tiny drifting federation on real data: drifted devices alarm, others do not.
fedge_cc_test(NAME sim_drift_e2e_test
  SRCS drift_sim_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 120)

# The deployed int8 model end to end: distillation every K rounds, devices install it.
fedge_cc_test(NAME sim_deploy_test
  SRCS ${FEDGE_SIM_TESTS}/deploy_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 120)

# Byzantine devices end to end: the attack decorator, median vs FedAvg under attack.
fedge_cc_test(NAME sim_byzantine_test
  SRCS ${FEDGE_SIM_TESTS}/byzantine_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 120)

# The registries end to end: a strategy, a codec value stage and a drift
# detector registered only in tests/sim/test_registrations.cc run in the
# simulator.
fedge_cc_test(NAME sim_registry_test
  SRCS ${FEDGE_SIM_TESTS}/registry_test.cc ${FEDGE_SIM_TESTS}/test_registrations.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 120)

# Secure aggregation ([secagg]) in the simulator: same accuracy as the plain
# run with dropouts at each stage; too many dropouts fail a round cleanly.
fedge_cc_test(NAME sim_secagg_test
  SRCS ${FEDGE_SIM_TESTS}/secagg_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 300)

# [gateway] sites > 0: the two-tier topology gives the direct run's model
# with one update per site (tests/sim/gateway_test.cc).
fedge_cc_test(NAME sim_gateway_test
  SRCS ${FEDGE_SIM_TESTS}/gateway_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 300)

# partition = "sample": 5,000 devices over 3,000 images, each sampled device
# trains, an unsampled device costs <= 2 KB (tests/sim/population_test.cc).
fedge_cc_test(NAME sim_population_test
  SRCS ${FEDGE_SIM_TESTS}/population_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 60)

# fedge-sim --mpi: the rank-to-rank messages (round trip, hostile bytes
# refused), and remote training through an in-process channel giving the
# rounds and model of a single process (tests/sim/remote_training_test.cc).
fedge_cc_test(NAME sim_mpi_messages_test
  SRCS mpi_messages_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 60)
fedge_cc_test(NAME sim_remote_training_test
  SRCS ${FEDGE_SIM_TESTS}/remote_training_test.cc
  DEPS fedge::sim
  TORCH MIMALLOC
  TIMEOUT 120)
