#include "connectors/http/internal/tls.h"

#include <gnutls/x509.h>
#include <simdjson.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>

namespace amtsweg::http::internal {

namespace {

constexpr size_t kMaxPemBytes = size_t{1} << 20;  // far more than any certificate chain

struct CredentialsFree {
  void operator()(gnutls_certificate_credentials_st* c) const {
    gnutls_certificate_free_credentials(c);
  }
};
using Credentials = std::unique_ptr<gnutls_certificate_credentials_st, CredentialsFree>;

struct CertificateFree {
  void operator()(gnutls_x509_crt_int* c) const { gnutls_x509_crt_deinit(c); }
};
using Certificate = std::unique_ptr<gnutls_x509_crt_int, CertificateFree>;

struct PrivateKeyFree {
  void operator()(gnutls_x509_privkey_int* k) const { gnutls_x509_privkey_deinit(k); }
};
using PrivateKey = std::unique_ptr<gnutls_x509_privkey_int, PrivateKeyFree>;

gnutls_datum_t Datum(const std::string& text) {
  // GnuTLS takes non-const data but only reads it.
  return {reinterpret_cast<unsigned char*>(const_cast<char*>(text.data())),
          static_cast<unsigned>(text.size())};
}

std::string Named(const char* flag, const std::string& file) {
  return std::string("api: ") + flag + " " + file;
}

Result<std::string> ReadPem(const char* flag, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(Named(flag, file) + ": cannot be read: " + std::strerror(errno));
  }
  std::string text;
  text.resize(kMaxPemBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    return Status::InvalidArgument(Named(flag, file) + ": cannot be read");
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxPemBytes) {
    return Status::InvalidArgument(Named(flag, file) + ": larger than " +
                                   std::to_string(kMaxPemBytes) + " bytes, not a PEM file");
  }
  return text;
}

// OK when `pem` holds PEM certificates; InvalidArgument when there is none or one is bad.
Status CheckCertificates(const char* flag, const std::string& file, const std::string& pem) {
  gnutls_x509_crt_t* list = nullptr;
  unsigned count = 0;
  const gnutls_datum_t data = Datum(pem);
  const int rc = gnutls_x509_crt_list_import2(&list, &count, &data, GNUTLS_X509_FMT_PEM, 0);
  for (unsigned i = 0; i < count; ++i)
    gnutls_x509_crt_deinit(list[i]);
  gnutls_free(list);
  if (rc < 0 || count == 0) {
    return Status::InvalidArgument(
        Named(flag, file) + ": expected PEM certificates (-----BEGIN CERTIFICATE-----)" +
        (rc < 0 ? std::string(": ") + gnutls_strerror(rc) : std::string()));
  }
  return Status::OK();
}

}  // namespace

Result<TlsMaterial> LoadTlsMaterial(const std::string& cert_file, const std::string& key_file,
                                    const std::string& client_ca_file) {
  TlsMaterial out;
  if (cert_file.empty() && key_file.empty()) {
    if (!client_ca_file.empty()) {
      return Status::InvalidArgument(
          "api: --tls-client-ca " + client_ca_file +
          " needs --tls-cert and --tls-key: client certificates are asked for over TLS only");
    }
    return out;
  }
  if (cert_file.empty() || key_file.empty()) {
    return Status::InvalidArgument(
        cert_file.empty() ? "api: --tls-key " + key_file + " needs --tls-cert (its certificate)"
                          : "api: --tls-cert " + cert_file + " needs --tls-key (its private key)");
  }
  ASSIGN_OR_RETURN(out.cert_pem, ReadPem("--tls-cert", cert_file));
  ASSIGN_OR_RETURN(out.key_pem, ReadPem("--tls-key", key_file));
  RETURN_IF_ERROR(CheckCertificates("--tls-cert", cert_file, out.cert_pem));
  {
    gnutls_x509_privkey_t raw = nullptr;
    if (gnutls_x509_privkey_init(&raw) < 0)
      return Status::Internal("api: gnutls_x509_privkey_init");
    PrivateKey key(raw);
    const gnutls_datum_t data = Datum(out.key_pem);
    if (int rc = gnutls_x509_privkey_import2(key.get(), &data, GNUTLS_X509_FMT_PEM, nullptr, 0);
        rc < 0) {
      return Status::InvalidArgument(
          Named("--tls-key", key_file) +
          ": expected an unencrypted PEM private key: " + gnutls_strerror(rc));
    }
  }
  gnutls_certificate_credentials_t raw_credentials = nullptr;
  if (gnutls_certificate_allocate_credentials(&raw_credentials) < 0) {
    return Status::Internal("api: gnutls_certificate_allocate_credentials");
  }
  Credentials credentials(raw_credentials);
  const gnutls_datum_t cert = Datum(out.cert_pem);
  const gnutls_datum_t key = Datum(out.key_pem);
  if (int rc = gnutls_certificate_set_x509_key_mem2(credentials.get(), &cert, &key,
                                                    GNUTLS_X509_FMT_PEM, nullptr, 0);
      rc < 0) {
    if (rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH) {
      return Status::InvalidArgument("api: the key --tls-key " + key_file +
                                     " does not belong to the certificate --tls-cert " + cert_file);
    }
    return Status::InvalidArgument("api: --tls-cert " + cert_file + " with --tls-key " + key_file +
                                   ": " + gnutls_strerror(rc));
  }
  if (!client_ca_file.empty()) {
    ASSIGN_OR_RETURN(out.client_ca_pem, ReadPem("--tls-client-ca", client_ca_file));
    RETURN_IF_ERROR(CheckCertificates("--tls-client-ca", client_ca_file, out.client_ca_pem));
    const gnutls_datum_t ca = Datum(out.client_ca_pem);
    if (int n = gnutls_certificate_set_x509_trust_mem(credentials.get(), &ca, GNUTLS_X509_FMT_PEM);
        n <= 0) {
      return Status::InvalidArgument(Named("--tls-client-ca", client_ca_file) +
                                     ": no CA certificate could be used" +
                                     (n < 0 ? std::string(": ") + gnutls_strerror(n) : ""));
    }
  }
  gnutls_priority_t priorities = nullptr;
  const char* error_at = nullptr;
  if (int rc = gnutls_priority_init(&priorities, kTlsPriorities, &error_at); rc < 0) {
    return Status::InvalidArgument(
        std::string("api: this GnuTLS (") + gnutls_check_version(nullptr) +
        ") does not accept the priorities " + kTlsPriorities + " at '" +
        (error_at != nullptr ? error_at : "") + "': " + gnutls_strerror(rc));
  }
  gnutls_priority_deinit(priorities);
  return out;
}

PeerCertificate IdentifyPeer(gnutls_session_t session) {
  PeerCertificate out;
  unsigned count = 0;
  const gnutls_datum_t* chain = gnutls_certificate_get_peers(session, &count);
  if (chain == nullptr || count == 0) return out;
  out.kind = PeerCertificate::Kind::kRefused;
  if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509) {
    out.reason = "it is not an X.509 certificate";
    return out;
  }
  // Signed by a trusted CA, within its validity period, and (if it names its uses) for clients.
  gnutls_typed_vdata_st purpose{};
  purpose.type = GNUTLS_DT_KEY_PURPOSE_OID;
  purpose.data = reinterpret_cast<unsigned char*>(const_cast<char*>(GNUTLS_KP_TLS_WWW_CLIENT));
  unsigned status = 0;
  if (int rc = gnutls_certificate_verify_peers(session, &purpose, 1, &status); rc < 0) {
    out.reason = std::string("it cannot be verified: ") + gnutls_strerror(rc);
    return out;
  }
  if (status != 0) {
    gnutls_datum_t text{};
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0) == 0) {
      out.reason = std::string(reinterpret_cast<const char*>(text.data), text.size);
      gnutls_free(text.data);
      while (!out.reason.empty() && out.reason.back() == ' ')
        out.reason.pop_back();
    } else {
      out.reason = "it is not trusted";
    }
    return out;
  }
  gnutls_x509_crt_t raw = nullptr;
  if (gnutls_x509_crt_init(&raw) < 0) {
    out.reason = "out of memory";
    return out;
  }
  Certificate leaf(raw);
  if (int rc = gnutls_x509_crt_import(leaf.get(), &chain[0], GNUTLS_X509_FMT_DER); rc < 0) {
    out.reason = std::string("it cannot be read: ") + gnutls_strerror(rc);
    return out;
  }
  size_t size = 0;
  int rc =
      gnutls_x509_crt_get_dn_by_oid(leaf.get(), GNUTLS_OID_X520_COMMON_NAME, 0, 0, nullptr, &size);
  if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
    out.reason = "its subject has no CN (common name)";
    return out;
  }
  std::string cn(size, '\0');
  if (rc != GNUTLS_E_SHORT_MEMORY_BUFFER ||
      (rc = gnutls_x509_crt_get_dn_by_oid(leaf.get(), GNUTLS_OID_X520_COMMON_NAME, 0, 0, cn.data(),
                                          &size)) < 0) {
    out.reason = std::string("its subject CN cannot be read: ") + gnutls_strerror(rc);
    return out;
  }
  cn.resize(size);  // without the terminating NUL
  size_t second = 0;
  if (gnutls_x509_crt_get_dn_by_oid(leaf.get(), GNUTLS_OID_X520_COMMON_NAME, 1, 0, nullptr,
                                    &second) != GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) {
    out.reason = "its subject has more than one CN";
    return out;
  }
  if (cn.empty() || cn.find('\0') != std::string::npos || !simdjson::validate_utf8(cn)) {
    out.reason = "its subject CN is empty or not valid UTF-8 text";
    return out;
  }
  out.kind = PeerCertificate::Kind::kVerified;
  out.common_name = std::move(cn);
  return out;
}

}  // namespace amtsweg::http::internal
