# Every dependency is a Debian 12 package, except OpenSSL 3.5 which
# scripts/bootstrap.sh builds (static) into ~/.cache/aegis-flow/openssl-current.
set(OPENSSL_USE_STATIC_LIBS TRUE)
if(NOT OPENSSL_ROOT_DIR AND EXISTS "$ENV{HOME}/.cache/aegis-flow/openssl-current")
  set(OPENSSL_ROOT_DIR "$ENV{HOME}/.cache/aegis-flow/openssl-current")
endif()
find_package(OpenSSL 3.5 REQUIRED)
find_package(Threads REQUIRED)
find_package(Boost 1.81 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(CLI11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)  # Debian libxxhash-dev (XXH3)
pkg_check_modules(LIBCBOR REQUIRED IMPORTED_TARGET libcbor)  # Debian libcbor-dev: attest/evidence_extension

# Boost.Asio/Beast are compiled once (src/core/asio_impl.cpp), not in every TU.
add_library(aegis_boost INTERFACE)
target_link_libraries(aegis_boost INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(aegis_boost INTERFACE
  BOOST_ASIO_SEPARATE_COMPILATION BOOST_BEAST_SEPARATE_COMPILATION
  BOOST_ASIO_NO_DEPRECATED
  # Debug builds (the only ones without NDEBUG: debug, asan-ubsan, tsan,
  # fuzz): Boost's assertions go through src/core/boost_assert.cpp, which
  # every user of aegis_boost links via core.
  $<$<CONFIG:Debug>:BOOST_ENABLE_ASSERT_DEBUG_HANDLER>)
