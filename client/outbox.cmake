# fedge::outbox — sealed store-and-forward records of undelivered updates.
# LibTorch-free. Included from client/client.cmake and from the device-only
# build (cmake/FedgeDeviceOnly.cmake), so paths are relative to this file.
fedge_cc_library(
  NAME outbox
  SRCS ${CMAKE_CURRENT_LIST_DIR}/outbox.cc ${CMAKE_CURRENT_LIST_DIR}/outbox_notice.cc
  HDRS ${CMAKE_CURRENT_LIST_DIR}/outbox.h ${CMAKE_CURRENT_LIST_DIR}/outbox_notice.h
  DEPS fedge::core absl::status absl::statusor absl::strings absl::time
)

fedge_cc_test(NAME outbox_test
  SRCS ${CMAKE_CURRENT_LIST_DIR}/outbox_test.cc ${CMAKE_CURRENT_LIST_DIR}/outbox_notice_test.cc
  DEPS fedge::outbox)
