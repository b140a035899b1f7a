#include "engine/common/status.h"

#include <cstdio>

namespace amtsweg {

std::string_view Status::CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kNotFound:
      return "NotFound";
    case Code::kCorruption:
      return "Corruption";
    case Code::kConflict:
      return "Conflict";
    case Code::kIOError:
      return "IOError";
    case Code::kUnavailable:
      return "Unavailable";
    case Code::kInternal:
      return "Internal";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string msg(context);
  msg += ": ";
  msg += message_;
  return Status(code_, std::move(msg));
}

namespace internal {

void AbortOnValueOfError(const Status& status, const char* file, int line) {
  const std::string text = status.ToString();
  if (file != nullptr) {
    std::fprintf(stderr, "amtsweg: Result::value() called on an error at %s:%d: %s\n", file, line,
                 text.c_str());
  } else {
    std::fprintf(stderr, "amtsweg: Result::value() called on an error: %s\n", text.c_str());
  }
  std::fflush(stderr);
  std::abort();
}

}  // namespace internal

}  // namespace amtsweg
