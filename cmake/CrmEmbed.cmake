# crm_embed_migrations(<target> <dir>): compiles every V*.sql file in <dir>
# into <target> as a list of crm::db::Migration, so a service binary carries
# its own schema (no files to ship next to it in a container).
function(crm_embed_migrations target dir)
  file(GLOB sql_files CONFIGURE_DEPENDS "${dir}/V*.sql")
  list(SORT sql_files)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${target}_migrations.cc")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND ${CMAKE_COMMAND} "-DOUT=${out}" "-DFILES=${sql_files}"
            -P "${CMAKE_SOURCE_DIR}/cmake/embed_migrations.cmake"
    DEPENDS ${sql_files} "${CMAKE_SOURCE_DIR}/cmake/embed_migrations.cmake"
    COMMENT "embedding migrations for ${target}"
    VERBATIM)
  add_library(${target} STATIC "${out}")
  target_link_libraries(${target} PUBLIC crm_db)
endfunction()
