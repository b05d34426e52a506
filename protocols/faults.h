// Fault injection for client developers: rules that make a session answer
// a command with a chosen reply, wait before it, say BYE, or drop the
// connection (README.md "Misbehaving on purpose: faults and capability
// profiles"). Set at run time through PUT /api/v1/faults.
//
// Sessions consult the registry before dispatching a command (Match); a
// rule with `count` fires that many more times, one with `probability`
// fires at random. Each firing is logged.
//
// Thread: the loop thread (the registry is process-wide, like the memory
// budget, so that every session and the HTTP API see the same rules).
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace pillarbox::protocols {

struct FaultRule {
  std::string protocol;       // imap, pop3, lmtp, smtp
  std::string command = "*";  // upper case, or "*"
  std::string user;           // empty: any (matched without case)
  std::string mailbox;        // empty: any (IMAP: the selected mailbox)
  std::string action;         // reply, delay, disconnect, bye
  std::string reply;          // reply: the text after the tag (IMAP) or the whole line
  std::int64_t delay_ms = 0;
  std::int64_t after_bytes = 0;  // disconnect: bytes of the response sent first
  double probability = 1.0;
  std::int64_t count = -1;  // firings left; -1: unlimited
};

// Parses a JSON array of rules. Unknown keys, protocols and actions, and
// values of the wrong type, are errors naming the rule and the key.
Result<std::vector<FaultRule>> ParseFaultRules(std::string_view json);
// The rules as a JSON array (GET /api/v1/faults).
std::string FaultRulesJson(const std::vector<FaultRule>& rules);

// A disconnect fault with after_bytes: the response stops after that many
// more bytes, and the session closes. Both sessions write through Clip.
class OutputCutoff {
 public:
  void Arm(std::uint64_t bytes) { remaining_ = bytes; }
  bool cut() const { return cut_; }
  // Shortens `bytes` to what may still go out. True when this write is the
  // last one: the caller writes what is left of `bytes`, then closes.
  bool Clip(std::string& bytes) {
    if (remaining_ == 0) return false;
    if (bytes.size() < remaining_) {
      remaining_ -= bytes.size();
      return false;
    }
    bytes.resize(static_cast<std::size_t>(remaining_));
    remaining_ = 0;
    cut_ = true;
    return true;
  }

 private:
  std::uint64_t remaining_ = 0;  // 0: not armed
  bool cut_ = false;             // fired: nothing more is written
};

class FaultRegistry {
 public:
  static FaultRegistry& Global();

  void Replace(std::vector<FaultRule> rules) { rules_ = std::move(rules); }
  void Clear() { rules_.clear(); }
  const std::vector<FaultRule>& rules() const { return rules_; }
  bool empty() const { return rules_.empty(); }

  // The first rule that matches and fires for this command (its count is
  // taken), or nullopt. `command` upper case; `user` empty before login.
  std::optional<FaultRule> Match(std::string_view protocol, std::string_view command,
                                 std::string_view user, std::string_view mailbox);

 private:
  std::vector<FaultRule> rules_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace pillarbox::protocols
