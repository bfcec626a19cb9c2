// What the linked OpenSSL offers: version, TLS 1.3 key-exchange groups and
// signature algorithms (for `aegis-flow version`).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace aegis::tls {

// Initialises OpenSSL without reading any system openssl.cnf (Debian 12's is
// written for 3.0). Safe to call more than once.
void init_openssl();

std::string openssl_version();

// "`what`: reason; reason" from OpenSSL's error queue, which it empties (so
// the next failure reports only its own); "(OpenSSL gave no reason)" if empty.
std::string with_openssl_errors(std::string_view what);
std::vector<std::string> tls13_groups();
std::vector<std::string> signature_algorithms();

}  // namespace aegis::tls
