// Envelope syntax for SMTP and LMTP (RFC 5321 4.1.2): the path argument of
// MAIL FROM / RCPT TO with its ESMTP parameters, and the pieces recipient
// routing needs (local part, domain, subaddress detail).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace pillarbox::smtp {

// One envelope address.
struct Address {
  bool null = false;   // the null reverse-path "<>"
  std::string text;    // the mailbox as written, without brackets and source route
  std::string local;   // local part, quotes and quoted-pairs removed
  std::string domain;  // as written without a trailing dot; may be empty ("<postmaster>")
};

// "KEY=VALUE" (or "KEY"); key upper-cased, value as written.
using Parameter = std::pair<std::string, std::string>;

struct PathArgument {
  Address address;
  std::vector<Parameter> parameters;
};

// Parses what follows "MAIL FROM:" or "RCPT TO:": optional spaces, the path
// ("<local@domain>", "<@route,@route:local@domain>", "<>" when allow_null),
// then space-separated parameters. A path without angle brackets is accepted
// too (many scripts send it). Returns InvalidArgument with a short reason.
Result<PathArgument> ParsePathArgument(std::string_view text, bool allow_null);

// True when `domain` equals one of `domains` (ASCII case-insensitive, a
// trailing dot ignored).
bool DomainMatches(std::string_view domain, const std::vector<std::string>& domains);

// Splits "user+detail" at the first character of `separators` (each
// character is a separator, as Postfix's recipient_delimiter). Returns false
// when there is none or the user part would be empty; the detail may be
// empty ("user+").
bool SplitSubaddress(std::string_view local, std::string_view separators, std::string* user,
                     std::string* detail);

}  // namespace pillarbox::smtp
