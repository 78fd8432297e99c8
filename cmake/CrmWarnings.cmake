# Warnings for the project's own targets (generated code is compiled without them).
function(crm_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter)
endfunction()
