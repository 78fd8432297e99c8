# Warnings for the project's own targets (generated code is compiled without them).
# -Wno-missing-field-initializers: GCC 12 (Debian 12's compiler) warns about
# every member a designated initializer leaves out ({.owner = …}), which is
# how this code builds its option and filter structs; GCC 13 no longer does.
function(crm_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers)
endfunction()
