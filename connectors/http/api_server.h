// The HTTP API of the engine process (cpp-httplib): cases, workflow definitions, dead letters
// and the access log, as JSON under /api/v1 (described in docs/api.yaml and docs/api.md).
//
// Every request needs `Authorization: Bearer <token>` of a principal (principals.h): admins
// validate and deploy workflows and read everything; auditors read everything, including the
// access log, and change nothing; a participant sees only cases its organisation takes part in,
// projected to what was disclosed to it, and a case it may not see answers exactly like a case
// that does not exist. Every read of case data is recorded in the store's access log before
// the answer is sent (if that fails, the data is not sent). Every error is a JSON body
// {"error": "...", "status": N}.
//
// The server only reads the store (plus the access log and deployed definitions, which the
// engine never writes), so it may run beside an engine that writes in the same process.
// Thread-safety: requests are served by a thread pool; Start/Stop from one owning thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "connectors/http/principals.h"
#include "engine/common/clock.h"
#include "engine/common/status.h"
#include "engine/core/catalog.h"
#include "engine/dsl/directory.h"
#include "engine/report/monitor.h"
#include "engine/store/store.h"

namespace amtsweg::http {

struct ApiOptions {
  std::string host = "127.0.0.1";   // loopback by default
  int port = 0;                     // 0: any free port (see ApiServer::port())
  size_t max_body_bytes = 1 << 20;  // larger request bodies get 413
  size_t threads = 4;               // worker threads
  size_t max_list_limit = 1000;     // the largest `limit` of list endpoints
  // Public monitoring without a token: GET /metrics (Prometheus text) and GET /status (the German
  // status page; GET / redirects there). Not served when null. Borrowed.
  report::Monitor* monitor = nullptr;
};

// Parses "HOST:PORT" (port 0..65535). InvalidArgument saying what is wrong.
Status ParseListen(const std::string& listen, ApiOptions* options);

class ApiServer {
 public:
  // Binds and starts serving on a thread of its own. Borrows everything; all must outlive the
  // server. `clock` stamps access records. IOError when the address cannot be bound.
  static Result<std::unique_ptr<ApiServer>> Start(const ApiOptions& options, store::Store& store,
                                                  core::Catalog& catalog,
                                                  const dsl::Directory& directory,
                                                  const Principals& principals, const Clock& clock);
  ~ApiServer();  // Stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const;
  // Stops accepting, finishes running requests and joins the threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amtsweg::http
