// Trace headers that intake puts in front of a delivered message:
// Return-Path (RFC 5321 4.4), Delivered-To, and Received with the protocol
// keywords of RFC 3848 (ESMTP, ESMTPS, ESMTPA, ESMTPSA, LMTP, LMTPS, ...).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "storage/types.h"

namespace pillarbox::smtp {

// "Thu, 26 Nov 2026 15:15:00 +0000" (RFC 5322 3.3), always in UTC.
std::string FormatRfc5322Date(storage::UnixTime t);

// RFC 3848 "with" keyword.
std::string ProtocolKeyword(bool lmtp, bool esmtp, bool tls, bool authenticated);

struct TraceFields {
  std::string return_path;    // reverse-path without brackets; "" for <>
  std::string delivered_to;   // "" to omit
  std::string helo;           // as the client gave it
  std::string peer_ip;        // "" when unknown (unix socket)
  std::string hostname;       // ours
  std::string protocol;       // ProtocolKeyword()
  std::string id;             // transaction id
  std::string for_recipient;  // "" to omit the "for" clause
  storage::UnixTime time = 0;
};

// The header block, each header ending in CRLF, folded to stay short.
std::string FormatTraceHeaders(const TraceFields& f);

}  // namespace pillarbox::smtp
