# Warning-free, hardened build (applies to every target in the tree).
add_compile_options(-Wall -Wextra -Werror -Wno-unused-parameter
                    -fstack-protector-strong -fstack-clash-protection -fcf-protection
                    -D_GLIBCXX_ASSERTIONS)
add_link_options(-pie -Wl,-z,relro -Wl,-z,now -Wl,-z,noexecstack)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

# _FORTIFY_SOURCE needs optimisation and fights with sanitizers' interceptors.
set(AEGIS_FORTIFY OFF)
if(NOT AEGIS_SANITIZE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  add_compile_options(-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3)
  set(AEGIS_FORTIFY ON)
endif()

if(AEGIS_SANITIZE)
  add_compile_options(-fsanitize=${AEGIS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all -O1)
  add_link_options(-fsanitize=${AEGIS_SANITIZE})
endif()

# Fuzzing: every library carries libFuzzer's coverage instrumentation; the
# fuzz targets link the fuzzer's main (tests/fuzz/CMakeLists.txt).
if(AEGIS_FUZZ)
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
endif()

# clang < 15: -fsanitize=function breaks C++20 coroutine code generation
# ("Cannot represent a difference across sections", llvm#49689).
if(AEGIS_SANITIZE MATCHES "undefined" AND CMAKE_CXX_COMPILER_ID STREQUAL "Clang"
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 15)
  add_compile_options(-fno-sanitize=function)
endif()
