// What the linked OpenSSL offers: version, TLS 1.3 key-exchange groups and
// signature algorithms (for `aegis-flow version`).
#pragma once

#include <string>
#include <vector>

namespace aegis::tls {

// Initialises OpenSSL without reading any system openssl.cnf (Debian 12's is
// written for 3.0). Safe to call more than once.
void init_openssl();

std::string openssl_version();
std::vector<std::string> tls13_groups();
std::vector<std::string> signature_algorithms();

}  // namespace aegis::tls
