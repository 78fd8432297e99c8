# crm_proto_library(<target> PROTOS <files relative to proto/> [GRPC] [DEPS <proto targets>]
#                   [ROOT <dir>])
# Generates C++ (and gRPC stubs with GRPC) for one proto package into its own
# static library, so a service links only the packages it uses. ROOT is for
# protos kept outside proto/ (the fuzz inputs of tests/fuzz); they may import proto/.
set(CRM_PROTO_ROOT "${CMAKE_SOURCE_DIR}/proto")
set(CRM_PROTO_GEN "${CMAKE_BINARY_DIR}/gen")

function(crm_proto_library target)
  cmake_parse_arguments(ARG "GRPC" "ROOT" "PROTOS;DEPS" ${ARGN})
  set(root "${CRM_PROTO_ROOT}")
  set(includes "-I${CRM_PROTO_ROOT}")
  if(ARG_ROOT)
    set(root "${ARG_ROOT}")
    list(PREPEND includes "-I${ARG_ROOT}")
  endif()
  set(srcs)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(dir "${proto}" DIRECTORY)
    get_filename_component(stem "${proto}" NAME_WE)
    set(base "${CRM_PROTO_GEN}/${dir}/${stem}")
    set(outs "${base}.pb.cc" "${base}.pb.h")
    set(plugin_args)
    if(ARG_GRPC)
      list(APPEND outs "${base}.grpc.pb.cc" "${base}.grpc.pb.h")
      set(plugin_args
        "--grpc_out=${CRM_PROTO_GEN}"
        "--plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>")
    endif()
    add_custom_command(
      OUTPUT ${outs}
      COMMAND ${CMAKE_COMMAND} -E make_directory "${CRM_PROTO_GEN}"
      COMMAND protobuf::protoc
        ${includes} "-I${Protobuf_INCLUDE_DIR}"
        "--cpp_out=${CRM_PROTO_GEN}" ${plugin_args}
        "${root}/${proto}"
      DEPENDS "${root}/${proto}" protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${outs})
  endforeach()
  add_library(${target} STATIC ${srcs})
  target_include_directories(${target} PUBLIC "${CRM_PROTO_GEN}")
  target_link_libraries(${target} PUBLIC protobuf::libprotobuf ${ARG_DEPS})
  if(ARG_GRPC)
    target_link_libraries(${target} PUBLIC gRPC::grpc++)
  endif()
endfunction()
