#include "common/status.h"

namespace pillarbox {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "OK";
    case Code::kNotFound:
      return "NotFound";
    case Code::kExists:
      return "Exists";
    case Code::kNoPermission:
      return "NoPermission";
    case Code::kOverQuota:
      return "OverQuota";
    case Code::kExpunged:
      return "Expunged";
    case Code::kInUse:
      return "InUse";
    case Code::kLimit:
      return "Limit";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kCorruption:
      return "Corruption";
    case Code::kIOError:
      return "IOError";
    case Code::kInternal:
      return "Internal";
    case Code::kUnsupported:
      return "Unsupported";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s(CodeName(code_));
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace pillarbox
