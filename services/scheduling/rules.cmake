# The scheduling rules: pure functions (SCH-2 travel and conflicts, care
# cadence, special days, due dates, on-site days), the day planner (SCH-3)
# and the iCalendar renderer (SCH-12). No I/O; included by CMakeLists.txt.
add_library(crm_scheduling_rules src/scheduling_rules.cc src/day_planner.cc src/ical.cc)
target_include_directories(crm_scheduling_rules PUBLIC ${CMAKE_SOURCE_DIR})
target_link_libraries(crm_scheduling_rules
  PUBLIC crm_proto_scheduling_v1 crm_status crm_util absl::status absl::statusor absl::strings absl::time)
crm_warnings(crm_scheduling_rules)

crm_test(crm_scheduling_rules_test LABEL unit
         SOURCES test/scheduling_rules_test.cc test/day_planner_test.cc
         DEPS crm_scheduling_rules crm_testing_matchers)

# The iCalendar test also parses its output with the independent Python
# `icalendar` library (Debian's python3-icalendar, installed for the system
# interpreter: a python3 earlier on PATH, such as a pyenv shim, may not see it).
if(EXISTS /usr/bin/python3)
  set(CRM_ICS_PYTHON /usr/bin/python3)
else()
  find_program(CRM_ICS_PYTHON python3 REQUIRED)
endif()
crm_test(crm_scheduling_ical_test LABEL unit SOURCES test/ical_test.cc
         DEPS crm_scheduling_rules crm_testing_matchers)
target_compile_definitions(crm_scheduling_ical_test PRIVATE
  CRM_SOURCE_DIR="${CMAKE_SOURCE_DIR}" CRM_ICS_PYTHON="${CRM_ICS_PYTHON}")
