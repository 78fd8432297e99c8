# crm_test(<name> LABEL <unit|integration|e2e> SOURCES ... DEPS ...)
# One GoogleTest binary registered with CTest under a label. Integration and
# e2e tests need the throw-away MariaDB fixture started by tests/CMakeLists.txt.
# In a sanitizer build each test also gets CRM_SANITIZER_TEST_ENV
# (CrmSanitizers.cmake). The fuzzing build registers no tests and builds
# none unless asked (the targets exist for the CMakeLists that configure them).
function(crm_test name)
  cmake_parse_arguments(ARG "" "LABEL" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  crm_warnings(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock_main)
  if(CRM_FUZZ)
    set_target_properties(${name} PROPERTIES EXCLUDE_FROM_ALL ON)
    return()
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABEL}" TIMEOUT 600)
  # A gRPC client that is not in a call polls its connections only every
  # 5 s (the backup poller), so a server the test stops while the test's
  # channel sits idle waits that long for the client to answer its GOAWAY:
  # ~5 s per stopped service. 100 ms keeps test teardown quick.
  set(env ${CRM_SANITIZER_TEST_ENV} GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS=100)
  if(NOT ARG_LABEL STREQUAL "unit")
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED mariadb)
    list(APPEND env "CRM_TEST_DB_ENV=${CMAKE_BINARY_DIR}/test-mariadb/env")
  endif()
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "${env}")
endfunction()
