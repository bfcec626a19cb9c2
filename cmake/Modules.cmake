# aegis_module(NAME DEPS...): one static library per folder of src/, built from
# every .cpp in it. Folders only depend downwards (see docs/architecture.md).
function(aegis_module name)
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(_srcs)
    add_library(aegis_${name} STATIC ${_srcs})
    target_include_directories(aegis_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(aegis_${name} PUBLIC ${ARGN})
  else()  # header-only so far
    add_library(aegis_${name} INTERFACE)
    target_include_directories(aegis_${name} INTERFACE ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(aegis_${name} INTERFACE ${ARGN})
  endif()
endfunction()

# aegis_unit_tests(FOLDER DEPS...): tests/unit/FOLDER/*.cpp into one gtest binary.
function(aegis_unit_tests folder)
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${folder}/*.cpp)
  if(NOT _srcs)
    return()
  endif()
  add_executable(unit_${folder} ${_srcs})
  target_link_libraries(unit_${folder} PRIVATE ${ARGN} GTest::gtest_main GTest::gmock)
  target_compile_definitions(unit_${folder} PRIVATE
    AEGIS_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(unit_${folder} DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "AEGIS_TESTDATA=${AEGIS_TESTDATA}")
endfunction()
