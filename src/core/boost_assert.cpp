// Boost's assertion handler (BOOST_ENABLE_ASSERT_DEBUG_HANDLER, set for
// every target that links core; active only where NDEBUG is not defined:
// the debug, asan-ubsan, tsan and fuzz builds). A failed assertion in
// Boost aborts as assert() would, with one exception: an assertion Boost
// itself removed as wrong, which a client can trigger at will.
//
// Beast 1.81's basic_parser::parse_chunk_header asserts `n >= 5` when it
// resumes a final chunk, but a client that sends "0\r\n", then "\r", then
// "\n" reaches it with n == 4; the code after the assertion handles that
// correctly (it finds no end of message and asks for more). Found by the
// h1_request fuzz target (tests/fuzz/regressions/h1_request/); fixed
// upstream in boostorg/beast PR #2861 (Boost 1.86). Without this, one such
// request aborted every debug and sanitizer build of the proxy.
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace boost {

namespace {

bool known_wrong(const char* expr, const char* file) {
  return std::strcmp(expr, "n >= 5") == 0 && std::strstr(file, "boost/beast/http/impl/basic_parser.ipp") != nullptr;
}

}  // namespace

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (known_wrong(expr, file)) return;
  (void)std::fprintf(stderr, "%s:%ld: %s: Boost assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file, long line) {
  if (known_wrong(expr, file)) return;
  (void)std::fprintf(stderr, "%s:%ld: %s: Boost assertion `%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost
