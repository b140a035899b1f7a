// Translating RocksDB statuses at the edge of engine/store. Internal to the engine (it includes
// RocksDB headers).
#pragma once

#include <rocksdb/status.h>

#include <string>
#include <string_view>

#include "engine/common/status.h"

namespace amtsweg::store::internal {

// OK for OK; otherwise our code for RocksDB's, with the message "<context>: <RocksDB's text>".
// (rocksdb::IOStatus is a rocksdb::Status and is translated the same way.)
inline Status FromRocks(const rocksdb::Status& s, std::string_view context) {
  if (s.ok()) return Status::OK();
  std::string msg(context);
  msg += ": ";
  msg += s.ToString();
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(msg));
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain() || s.IsIncomplete()) {
    return Status::Unavailable(std::move(msg));
  }
  if (s.IsNotSupported()) return Status::Internal(std::move(msg));
  return Status::IOError(std::move(msg));  // IOError, NoSpace, Aborted, ...
}

}  // namespace amtsweg::store::internal
