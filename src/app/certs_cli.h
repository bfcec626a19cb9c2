// `aegis-flow certs`: the command line of the certificate tooling in tls/certs.h
// (a private CA per SPIFFE trust domain, workload certificates, inspection).
//
// Usage:
//   aegis-flow certs init-ca --trust-domain example.org --key-type mldsa65 --out ca/ [--days 3650] [--force]
//       → ca/ca.crt (PEM) and ca/ca.key (PKCS#8 PEM, mode 0600); self-signed,
//         CN "aegis-flow CA example.org", URI SAN spiffe://example.org.
//   aegis-flow certs issue --ca ca/ --spiffe-id spiffe://example.org/ns/default/sa/web
//       [--dns web.default.svc]... --key-type mldsa65 --days 30 --out web/ [--force]
//       → web/cert.pem (the leaf, then the CA) and web/key.pem (0600). The SPIFFE ID
//         must be in the CA's trust domain, and --days may not outlive the CA.
//   aegis-flow certs inspect FILE
//       → for each certificate in FILE (PEM or DER): subject, issuer, serial, CA or
//         not, URI and DNS SANs, key type (ML-DSA-65, EC P-256...), signature
//         algorithm, validity ("valid for N days" / "expired"), SHA-256 fingerprint.
// --key-type: mldsa65 | mldsa87 | mldsa44 | ecdsa-p256. Existing files are never
// overwritten without --force. Exit status: 0 success; 2 usage or invalid input
// (including a file in the way); 1 OpenSSL or file-system failure.
#pragma once

namespace CLI {
class App;
}

namespace aegis::app {

// Registers `certs` on the top-level app. Its own options are parsed by
// run_certs_command, so usage errors there exit 2 like the rest of the tool's
// input errors.
CLI::App* add_certs_command(CLI::App& app);

// Runs the parsed `certs` subcommand; returns the exit status.
int run_certs_command(const CLI::App& certs);

}  // namespace aegis::app
