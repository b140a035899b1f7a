// Certificates for TLS tests, made with the openssl command line in a temporary directory of
// their own: CAs, and certificates they sign for 127.0.0.1 and localhost, for server and client
// use. Header-only; not thread-safe (one test or suite owns it).
#pragma once

#include <string>

#include "tests/testing/shell.h"
#include "tests/testing/temp_dir.h"

namespace amtsweg::testing {

class Pki {
 public:
  Pki() : dir_("amtsweg-pki") {}

  // Makes the CA `name`: `name`.ca.pem and `name`.ca.key. An empty string, or the command and
  // openssl's output on failure.
  std::string MakeCa(const std::string& name) {
    return Run("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj " +
               ShellQuote("/CN=" + name + " CA") + " -keyout " + Path(name + ".ca.key") + " -out " +
               Path(name + ".ca.pem"));
  }
  // Makes `name`.pem and `name`.key, signed by the CA `ca`: subject CN=`cn` (empty: `name`), for
  // IP 127.0.0.1 and DNS localhost, with the extended key usage `usage`.
  std::string MakeCertificate(const std::string& name, const std::string& ca,
                              const std::string& cn = "",
                              const std::string& usage = "serverAuth,clientAuth") {
    std::string err = Run("openssl req -newkey rsa:2048 -nodes -subj " +
                          ShellQuote("/CN=" + (cn.empty() ? name : cn)) + " -keyout " +
                          Path(name + ".key") + " -out " + Path(name + ".csr"));
    if (!err.empty()) return err;
    err = Run("printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=" + usage +
              "\\n' > " + Path(name + ".ext"));
    if (!err.empty()) return err;
    return Run("openssl x509 -req -days 1 -in " + Path(name + ".csr") + " -CA " +
               Path(ca + ".ca.pem") + " -CAkey " + Path(ca + ".ca.key") + " -CAcreateserial" +
               " -extfile " + Path(name + ".ext") + " -out " + Path(name + ".pem"));
  }
  // A file in the directory.
  std::string Path(const std::string& file) const { return dir_.path() + "/" + file; }

 private:
  static std::string Run(const std::string& command) {
    ShellResult r = Shell(command);
    return r.code == 0 ? "" : command + ": " + r.output;
  }
  TempDir dir_;
};

}  // namespace amtsweg::testing
