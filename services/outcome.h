// What a service operation reports: a code that each front end maps in one
// place (the CLI to a sysexits status, SMTP/LMTP to a reply code, HTTP to a
// status), and a message for logs and command-line output. The message is
// never sent to a network client: a client gets its protocol's short reply.
//
// Thread-safety: values.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace pillarbox::services {

enum class Code : std::uint8_t {
  kOk,
  kBadInput,      // the request is malformed: a name, a setting, a number, a hash
  kNoSuchUser,    // the user does not exist (or was deleted meanwhile)
  kExists,        // the user already exists
  kEmptyMessage,  // a message with no bytes but line endings
  kTooBig,        // larger than limits.max_message_size
  kOverQuota,     // the user's quota would be exceeded
  kBadMailbox,    // the target mailbox cannot be used (name, depth, UID space)
  kTemporary,     // try again later: the store failed (I/O, map, internal)
};

// "ok", "bad-input", "no-such-user", ... stable, for logs and JSON.
std::string_view CodeName(Code code);

class Outcome {
 public:
  Outcome() = default;
  Outcome(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Outcome Ok() { return Outcome(); }
  // The store's Status in service terms: NotFound is `not_found` (a user,
  // unless the caller knows better), Exists, OverQuota as they are,
  // InvalidArgument and Limit are bad input, everything else temporary.
  static Outcome FromStore(const Status& s, Code not_found = Code::kNoSuchUser);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// Completions of asynchronous operations: they run on the store's owner
// thread (the loop in the server, the main thread in the CLI), after the
// durable commit. `T` is meaningful only when the outcome is ok.
template <typename T>
using Done = std::function<void(Outcome, T)>;
using OutcomeDone = std::function<void(Outcome)>;

}  // namespace pillarbox::services
