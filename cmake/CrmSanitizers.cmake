# Sanitizer and fuzzing builds; each lives in its own build directory because
# the flags apply to every target of the tree.
#
# CRM_SANITIZE=address,undefined (any -fsanitize= list; g++ or clang++):
# the whole tree, test suite included, is compiled and linked with those
# sanitizers. Undefined behaviour is fatal (-fno-sanitize-recover), so a test
# cannot pass over it. crm_test() gives every test CRM_SANITIZER_TEST_ENV,
# which the e2e launcher (tests/e2e/service_process.h) hands on to the
# service processes it starts. Reports go to stderr, which the launcher
# writes to each service's log and scans (a report fails the test).
#
# CRM_FUZZ=ON (clang++ only): the libFuzzer targets of tests/fuzz. Every
# library they link is instrumented for coverage feedback
# (-fsanitize=fuzzer-no-link) and built with address + undefined sanitizers;
# the test suite and benchmarks are left out of that tree.
set(CRM_SANITIZE "" CACHE STRING "comma-separated -fsanitize= list for the whole tree, e.g. address,undefined")
option(CRM_FUZZ "build only the libFuzzer targets (clang++)" OFF)

if(CRM_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CRM_FUZZ=ON needs clang++ (-DCMAKE_CXX_COMPILER=clang++): libFuzzer is part of clang")
  endif()
  if(NOT CRM_SANITIZE)
    set(CRM_SANITIZE address,undefined)
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

if(CRM_SANITIZE)
  add_compile_options(-fsanitize=${CRM_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${CRM_SANITIZE})
  set(CRM_SANITIZER_SUPPRESSIONS "${CMAKE_CURRENT_LIST_DIR}/sanitizers")
  set(CRM_SANITIZER_TEST_ENV
    "ASAN_OPTIONS=detect_leaks=1:check_initialization_order=1:detect_stack_use_after_return=1"
    "LSAN_OPTIONS=suppressions=${CRM_SANITIZER_SUPPRESSIONS}/lsan.supp:print_suppressions=0"
    "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=${CRM_SANITIZER_SUPPRESSIONS}/ubsan.supp")
endif()
