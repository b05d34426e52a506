#include "services/outcome.h"

namespace pillarbox::services {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kBadInput:
      return "bad-input";
    case Code::kNoSuchUser:
      return "no-such-user";
    case Code::kExists:
      return "exists";
    case Code::kEmptyMessage:
      return "empty-message";
    case Code::kTooBig:
      return "too-big";
    case Code::kOverQuota:
      return "over-quota";
    case Code::kBadMailbox:
      return "bad-mailbox";
    case Code::kTemporary:
      return "temporary";
  }
  return "temporary";
}

Outcome Outcome::FromStore(const Status& s, Code not_found) {
  switch (s.code()) {
    case pillarbox::Code::kOk:
      return Ok();
    case pillarbox::Code::kNotFound:
      return {not_found, s.message()};
    case pillarbox::Code::kExists:
      return {Code::kExists, s.message()};
    case pillarbox::Code::kOverQuota:
      return {Code::kOverQuota, s.message()};
    case pillarbox::Code::kInvalidArgument:
    case pillarbox::Code::kLimit:
      return {Code::kBadInput, s.message()};
    default:
      return {Code::kTemporary, s.ToString()};
  }
}

}  // namespace pillarbox::services
