#include "protocols/smtp/trace.h"

#include <time.h>

#include <cstdio>

namespace pillarbox::smtp {
namespace {

// Header text must stay printable ASCII without spaces where a client
// supplied it (HELO names may be anything).
std::string Sanitize(std::string_view s) {
  constexpr std::size_t kMaxLength = 255;
  std::string out;
  for (char c : s.substr(0, kMaxLength)) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u > 32 && u < 127 && c != '(' && c != ')' ? c : '?');
  }
  return out;
}

}  // namespace

std::string FormatRfc5322Date(storage::UnixTime t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string ProtocolKeyword(bool lmtp, bool esmtp, bool tls, bool authenticated) {
  if (lmtp) return std::string("LMTP") + (tls ? "S" : "") + (authenticated ? "A" : "");
  if (!esmtp && !tls && !authenticated) return "SMTP";
  return std::string("ESMTP") + (tls ? "S" : "") + (authenticated ? "A" : "");
}

std::string FormatTraceHeaders(const TraceFields& f) {
  std::string h;
  h += "Return-Path: <" + f.return_path + ">\r\n";
  if (!f.delivered_to.empty()) h += "Delivered-To: " + f.delivered_to + "\r\n";
  h += "Received: from " + Sanitize(f.helo.empty() ? "unknown" : f.helo);
  if (!f.peer_ip.empty()) h += " ([" + f.peer_ip + "])";
  h += "\r\n\tby " + f.hostname + " (Pillarbox) with " + f.protocol + " id " + f.id;
  if (!f.for_recipient.empty()) h += "\r\n\tfor <" + f.for_recipient + ">";
  h += "; " + FormatRfc5322Date(f.time) + "\r\n";
  return h;
}

}  // namespace pillarbox::smtp
