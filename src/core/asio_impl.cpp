// Boost.Asio and Boost.Beast are compiled here once (separate compilation),
// which keeps every other translation unit light on a 2-core CI machine.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
