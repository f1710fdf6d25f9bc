# The installed package (`cmake --install build --prefix P`): the export set
# fedgeTargets that FedgeHelpers.cmake fills (libraries as fedge::<name>),
# fedgeConfig.cmake + fedgeConfigVersion.cmake for find_package(fedge), and
# fedge-infer.pc for the LibTorch-free C API (libfedge_infer.so).
include(CMakePackageConfigHelpers)

install(EXPORT fedgeTargets NAMESPACE fedge:: DESTINATION ${FEDGE_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/fedgeConfig.cmake.in
  ${PROJECT_BINARY_DIR}/fedgeConfig.cmake
  INSTALL_DESTINATION ${FEDGE_INSTALL_CMAKEDIR})
# 0.x: a new minor version may change the API, so only the same minor matches.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/fedgeConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/fedgeConfig.cmake ${PROJECT_BINARY_DIR}/fedgeConfigVersion.cmake
        DESTINATION ${FEDGE_INSTALL_CMAKEDIR})

# Relocatable: the prefix is found from the .pc file's own place
# (${pcfiledir}), so `cmake --install --prefix` anywhere works.
string(REGEX REPLACE "[^/]+" ".." FEDGE_PC_TO_PREFIX "${CMAKE_INSTALL_LIBDIR}/pkgconfig")
configure_file(${CMAKE_CURRENT_LIST_DIR}/fedge-infer.pc.in ${PROJECT_BINARY_DIR}/fedge-infer.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/fedge-infer.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
install(FILES ${PROJECT_SOURCE_DIR}/CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
