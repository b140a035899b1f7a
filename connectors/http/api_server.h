// The HTTP API of the engine process (libmicrohttpd): cases, workflow definitions, dead letters
// and the access log, as JSON under /api/v1 (described in docs/api.yaml and docs/api.md).
//
// Every request needs `Authorization: Bearer <token>` of a principal (principals.h): admins
// validate and deploy workflows and read everything; auditors read everything, including the
// access log, and change nothing; a participant sees only cases its organisation takes part in,
// projected to what was disclosed to it, and a case it may not see answers exactly like a case
// that does not exist. Every answer to a principal on an endpoint of case data, refusals
// included, is recorded in the store's access log before it is sent (if that fails, the data is
// not sent). Every error is an RFC 9457 problem details body (application/problem+json) with
// `type`, `title`, `status` and `detail`. Public without a token: GET /healthz, /readyz and, with
// a monitor, /metrics and /status.
//
// Over https (ApiOptions::tls_cert_file; TLS 1.2 and 1.3 only) with a client CA, a participant
// may authenticate with a client certificate instead of a token: its subject CN names its
// organisation in the directory. Admins and auditors always send a token.
//
// Hostile clients are bounded (ApiOptions): connections in total and per client address, the
// number and size of header fields (431), the body in any transfer encoding (413; a request
// without a valid token gets no byte of its body read), and the total time for headers and for
// the body. Slow connections hold no thread: they are polled with epoll, and the handlers
// run on a pool of their own, so a slow store read does not hold up the connections beside it.
//
// Participants send input (answers, extensions, documents) with POST: it goes to the engine of
// the process through ApiOptions::inbox (api_input.h), and the answer, given once the engine's
// batch is committed, says whether it was accepted, refused (with the reason) or a duplicate.
// The server writes to the store only the access log and deployed definitions, which the engine
// never writes, so it may run beside an engine that writes in the same process. Administrators'
// backups (of the store and the key store) and key rotations run beside the engine too, each on
// the handler thread that serves the request (it is busy until the answer).
// Thread-safety: requests are served by a thread pool; Start/Stop from one owning thread.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "connectors/http/principals.h"
#include "engine/common/clock.h"
#include "engine/common/status.h"
#include "engine/core/case_keys.h"
#include "engine/core/catalog.h"
#include "engine/core/cloudevent.h"
#include "engine/core/inbox.h"
#include "engine/dsl/directory.h"
#include "engine/report/monitor.h"
#include "engine/store/store.h"

namespace amtsweg::http {

struct ApiOptions {
  std::string host = "127.0.0.1";   // loopback by default
  int port = 0;                     // 0: any free port (see ApiServer::port())
  size_t max_body_bytes = 1 << 20;  // larger request bodies get 413 (any transfer encoding)
  size_t threads = 4;  // threads running the handlers (at most two more poll the connections)
  size_t max_list_limit = 1000;  // the largest `limit` of list endpoints
  // More connections wait in the listen backlog; the total is split evenly across the polling
  // threads. More per client address are closed at once.
  size_t max_connections = 256;
  size_t max_connections_per_client = 32;       // per client IP address
  size_t max_header_fields = 64;                // more get 431
  size_t max_header_bytes = size_t{16} * 1024;  // request line and header fields; more get 431
  // Totals on `connection_clock`, not per read: from the connection (or the end of the previous
  // request) to the end of the headers, and from there to the end of the body. A connection
  // over its time is closed.
  int64_t header_timeout_ms = 10'000;
  int64_t body_timeout_ms = 30'000;
  unsigned idle_timeout_s = 60;  // no byte moved for this long (e.g. a client not reading)
  const Clock* connection_clock = nullptr;  // null: the system clock. Borrowed.
  // Called on a polling thread after a connection was accepted or closed, with the number open
  // (refused connections are never counted), in the order of the changes (under the server's
  // lock: it must not call the server). A point for tests to wait for. May be empty.
  std::function<void(size_t open)> on_connections;
  // Where participants' inputs go (POST /api/v1/inputs and the input endpoints of a case): the
  // inbox of the engine that runs in this process. Null: those endpoints answer 503 (no engine
  // here). Borrowed; Stop() closes it and waits for the answers of the inputs the engine has
  // taken, so the engine loop must go on, or have destroyed its InboxSource, until then.
  core::Inbox* inbox = nullptr;
  // The cases' data keys: the personal values of the cases shown are opened with them, and
  // administrators rotate (POST /api/v1/admin/keys/rotation), inspect (GET /api/v1/admin/keys)
  // and back up their key store (keys->store()). Borrowed; null: shown as sealed, null, and the
  // key endpoints answer 503.
  core::CaseKeys* keys = nullptr;
  // Where POST /api/v1/admin/backups backs up the live store (a RocksDB backup directory, see
  // store::Store::CreateBackup), and, with `keys`, the key store into `<backup_dir>.keys`, whose
  // backups older than `key_retention_ms` are deleted then (the newest is kept). Empty: the
  // backup endpoints answer 503. No other process may write these directories meanwhile.
  std::string backup_dir;
  int64_t key_retention_ms = int64_t{7} * 86400 * 1000;  // P7D, as `backup create`'s default
  size_t max_event_bytes = core::kDefaultMaxEventBytes;  // larger inputs: dead letters (oversized)
  // Public monitoring without a token: GET /metrics (Prometheus text) and GET /status (the German
  // status page; GET / redirects there). Not served when null. Borrowed.
  report::Monitor* monitor = nullptr;
  // https instead of http when set (both or neither): the server's certificate (PEM, perhaps
  // followed by its chain) and its unencrypted private key (PEM). TLS 1.2 and 1.3 only. Read once,
  // at Start.
  std::string tls_cert_file;
  std::string tls_key_file;
  // With TLS: CA certificates (PEM) whose client certificates authenticate participants. The
  // server then asks every client for a certificate (optional): one that the CA signed, valid now
  // and for client use, makes the request a participant of the organisation whose directory id is
  // its subject CN, without a token; a token sent beside it must be a participant of that same
  // organisation. Any other certificate is refused with 403.
  std::string tls_client_ca_file;
};

// Parses "HOST:PORT" (port 0..65535). InvalidArgument saying what is wrong.
Status ParseListen(const std::string& listen, ApiOptions* options);

// Reads and checks the TLS files of `options` as Start does (both of certificate and key or
// neither, a client CA only with them, readable PEM, the key belonging to the certificate, a
// libmicrohttpd with TLS). OK without TLS. InvalidArgument naming the flag and the file,
// Unavailable when libmicrohttpd was built without TLS.
Status CheckTls(const ApiOptions& options);

class ApiServer {
 public:
  // Binds and starts serving on threads of its own. Borrows everything; all must outlive the
  // server. `clock` stamps access records. InvalidArgument when a limit or timeout is 0 or the TLS
  // files are not right (CheckTls); IOError when the address cannot be bound.
  static Result<std::unique_ptr<ApiServer>> Start(const ApiOptions& options, store::Store& store,
                                                  core::Catalog& catalog,
                                                  const dsl::Directory& directory,
                                                  const Principals& principals, const Clock& clock);
  ~ApiServer();  // Stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const;
  // Stops accepting, closes the connections and joins the threads. Idempotent.
  void Stop();

 private:
  struct Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace amtsweg::http
