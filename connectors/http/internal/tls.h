// Internal to connectors/http: the API server's TLS with GnuTLS (the TLS library of Debian's
// libmicrohttpd): reading and checking the certificate, key and client CA before the server
// starts, and telling who a client is from the certificate it presented. Not part of the
// module's contract (the server and its tests use it).
#pragma once

#include <gnutls/gnutls.h>

#include <string>

#include "engine/common/status.h"

namespace amtsweg::http::internal {

// TLS 1.3 and 1.2 only, with GnuTLS's default ("NORMAL") ciphers, key exchanges and
// signatures of those versions.
inline constexpr char kTlsPriorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

// The server's TLS material as PEM text, read from its files and checked.
struct TlsMaterial {
  std::string cert_pem;       // the server's certificate, perhaps followed by its chain
  std::string key_pem;        // its private key (unencrypted)
  std::string client_ca_pem;  // empty: no client certificates asked for
  bool enabled() const { return !cert_pem.empty(); }
};

// Reads and checks the files: both of the certificate and key or neither, a client CA only with
// them, each readable and holding what it should (PEM, an unencrypted key), the key belonging to
// the certificate, and kTlsPriorities accepted by this GnuTLS. No files: an empty material.
// InvalidArgument naming the flag (--tls-cert, --tls-key, --tls-client-ca) and the file.
Result<TlsMaterial> LoadTlsMaterial(const std::string& cert_file, const std::string& key_file,
                                    const std::string& client_ca_file);

// What the client certificate of a TLS session says about the client.
struct PeerCertificate {
  enum class Kind {
    kNone,      // no certificate presented
    kVerified,  // signed by a trusted client CA, in its validity period, for client use
    kRefused,   // presented, but not acceptable: `reason` says why
  };
  Kind kind = Kind::kNone;
  std::string common_name;  // kVerified: the subject's CN (one, non-empty, valid UTF-8)
  std::string reason;       // kRefused
};

// Verifies the peer's certificate chain against the trust list of the session's credentials
// (the client CA) and reads the subject CN of its leaf certificate. Call on the thread that
// does the session's I/O (a GnuTLS session is not thread-safe).
PeerCertificate IdentifyPeer(gnutls_session_t session);

}  // namespace amtsweg::http::internal
