// Boost.JSON compiled once for the process (header-only mode: Debian 12 ships
// no libboost_json), like core/asio_impl.cpp does for Asio and Beast.
#include <boost/json/src.hpp>
