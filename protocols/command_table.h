// The one dispatch pattern of every protocol session: a constant table of
// commands, each with its keyword, the states it is allowed in (one bit per
// state of that protocol), flags of that protocol, and its handler. The
// session upper-cases the keyword, finds its entry, checks the state bit,
// and calls the handler; an unknown keyword and a command in the wrong
// state get the protocol's own reply.
//
// IMAP: imap/commands.cpp. POP3: pop3/pop3_session.cpp. SMTP and LMTP:
// smtp/session.cpp.
#pragma once

#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>

#include "common/metrics.h"

namespace pillarbox::protocols {

template <typename Session, typename Args>
struct CommandDef {
  using Handler = void (*)(Session& session, Args args);
  std::string_view name;  // upper case
  unsigned states = 0;    // bits of the states it is allowed in
  // The protocol's own flags; 64 bits so that IMAP can keep a whole
  // 32-bit extension mask above its low flag bits (kCmdNeeds).
  std::uint64_t flags = 0;
  Handler run = nullptr;
};

// The entry named `upper_name` in `table`, or nullptr.
template <typename Table>
auto FindCommand(const Table& table, std::string_view upper_name) -> decltype(&*std::begin(table)) {
  for (const auto& def : table) {
    if (def.name == upper_name) return &def;
  }
  return nullptr;
}

// Counts one command in pillarbox_commands_total{protocol=,command=}: the
// table's name of a known command (`def`), "other" for an unknown one
// (nullptr), so that clients cannot grow the label set.
template <typename Def>
void CountCommand(std::string_view protocol, const Def* def) {
  metrics::Count("commands_total",
                 metrics::Label("protocol", protocol) + "," +
                     metrics::Label("command", def != nullptr ? def->name : "other"),
                 "Commands by protocol and name");
}

// A member function as a table handler: Method<&Pop3Session::CmdStat>::Run.
// The table is a static member of the session, so it may name private ones.
template <auto M>
struct Method;
template <typename Session, typename Args, void (Session::*M)(Args)>
struct Method<M> {
  static void Run(Session& session, Args args) { (session.*M)(args); }
};

}  // namespace pillarbox::protocols
