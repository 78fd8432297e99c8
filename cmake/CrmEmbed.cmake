# crm_embed_migrations(<target> <dir> <namespace> <header>): compiles every
# V*.sql file in <dir> into <target> as `<namespace>::Migrations()` (declared
# in <header>), so a service binary carries its own schema and needs no files
# beside it in a container.
function(crm_embed_migrations target dir namespace header)
  file(GLOB sql_files CONFIGURE_DEPENDS "${dir}/V*.sql")
  list(SORT sql_files)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${target}.cc")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} "-DOUT=${out}" "-DFILES=${sql_files}" "-DNAMESPACE=${namespace}"
            "-DHEADER=${header}" -P "${CMAKE_SOURCE_DIR}/cmake/embed_migrations.cmake"
    DEPENDS ${sql_files} "${CMAKE_SOURCE_DIR}/cmake/embed_migrations.cmake"
    COMMENT "embedding migrations for ${target}"
    VERBATIM)
  add_library(${target} STATIC "${out}")
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC crm_db)
endfunction()
