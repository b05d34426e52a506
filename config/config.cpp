// The configuration loader: one table of key descriptors drives parsing of
// the TOML file, environment overrides, per-user overrides, DumpConfig and
// AllKeys(). A key's name is the snake_case member name in config.h.
#include "config/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <set>
#include <sstream>
#include <type_traits>

#include "common/strings.h"
#include "config/capabilities.h"

extern char** environ;

namespace pillarbox::config {
namespace {

using Millis = std::chrono::milliseconds;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// One line for the operator: newlines in library messages become spaces.
std::string OneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// A TOML basic string literal.
std::string Quote(std::string_view s) { return QuotedString(s); }

// Parses an unsigned decimal number (all of `s`).
bool ParseUnsigned(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool ParseSigned(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  if (s.front() == '+') s.remove_prefix(1);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

const char* TomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

Status Invalid(std::string why) { return Status::InvalidArgument(std::move(why)); }

Status WrongType(const char* expected, const toml::node& node) {
  return Invalid(std::string("expected ") + expected + ", got " + TomlTypeName(node));
}

// ---------------------------------------------------------------------------
// Durations and sizes.

// Parses a duration into milliseconds. Units: ms s m h d; bare = seconds.
Result<Millis> ParseMillis(std::string_view text) {
  std::string_view s = Trim(text);
  static constexpr const char* kExpected =
      "expected a duration such as \"30s\", \"10m\", \"2h\", \"7d\", \"500ms\" or a number of "
      "seconds";
  std::size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  std::uint64_t n = 0;
  if (!ParseUnsigned(s.substr(0, digits), n)) return Invalid(kExpected);
  std::string unit = Lower(Trim(s.substr(digits)));
  std::uint64_t mult;
  if (unit.empty() || unit == "s") {
    mult = 1000;
  } else if (unit == "ms") {
    mult = 1;
  } else if (unit == "m") {
    mult = 60 * 1000;
  } else if (unit == "h") {
    mult = 3600 * 1000;
  } else if (unit == "d") {
    mult = 86400 * 1000;
  } else {
    return Invalid(kExpected);
  }
  // Ten years is far beyond any sensible timeout and keeps arithmetic safe.
  constexpr std::uint64_t kMaxMs = 10ull * 366 * 86400 * 1000;
  if (n > kMaxMs / mult) return Invalid("duration too long (at most 10 years)");
  return Millis(static_cast<Millis::rep>(n * mult));
}

std::string FormatMillis(Millis d) {
  std::int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 86400000 == 0) return std::to_string(ms / 86400000) + "d";
  if (ms % 3600000 == 0) return std::to_string(ms / 3600000) + "h";
  if (ms % 60000 == 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string FormatSize(std::uint64_t n) {
  if (n == 0) return "0";
  constexpr std::uint64_t kK = 1024, kM = kK * 1024, kG = kM * 1024, kT = kG * 1024;
  if (n % kT == 0) return Quote(std::to_string(n / kT) + "T");
  if (n % kG == 0) return Quote(std::to_string(n / kG) + "G");
  if (n % kM == 0) return Quote(std::to_string(n / kM) + "M");
  if (n % kK == 0) return Quote(std::to_string(n / kK) + "K");
  return std::to_string(n);
}

// ---------------------------------------------------------------------------
// Key descriptors.

// Where a value comes from, for error messages.
struct KeyDesc {
  std::string section;
  std::string name;
  bool secret = false;
  bool per_user = false;  // may be overridden per user (UserSettings)
  // Sets the field from a TOML value. The error message omits the key.
  std::function<Status(Config&, const toml::node&)> from_toml;
  // Sets the field from text (environment, per-user settings).
  std::function<Status(Config&, std::string_view)> from_text;
  // The field as a TOML value.
  std::function<std::string(const Config&)> to_toml;

  std::string FullName() const { return section + "." + name; }
  std::string EnvName() const {
    std::string out = "PILLARBOX_" + section + "_" + name;
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  }
};

template <typename T>
using Accessor = T& (*)(Config&);

template <typename T>
const T& Get(Accessor<T> acc, const Config& c) {
  // The accessor only names a member; reading through it does not modify.
  return acc(const_cast<Config&>(c));
}

using StringCheck = Status (*)(std::string_view);

Status NoCheck(std::string_view) { return Status::Ok(); }

KeyDesc StringKey(std::string section, std::string name, Accessor<std::string> acc,
                  StringCheck check = NoCheck) {
  KeyDesc d;
  d.section = std::move(section);
  d.name = std::move(name);
  d.from_text = [acc, check](Config& c, std::string_view v) -> Status {
    PB_RETURN_IF_ERROR(check(v));
    acc(c) = std::string(v);
    return Status::Ok();
  };
  d.from_toml = [from = d.from_text](Config& c, const toml::node& n) -> Status {
    const auto* s = n.as_string();
    if (!s) return WrongType("a string", n);
    return from(c, s->get());
  };
  d.to_toml = [acc](const Config& c) { return Quote(Get(acc, c)); };
  return d;
}

// Lists: a TOML array of strings; in text, comma-separated ("" = empty list).
KeyDesc ListKey(std::string section, std::string name, Accessor<std::vector<std::string>> acc,
                StringCheck check = NoCheck) {
  KeyDesc d;
  d.section = std::move(section);
  d.name = std::move(name);
  auto set = [acc, check](Config& c, std::vector<std::string> items) -> Status {
    for (const auto& item : items) {
      Status s = check(item);
      if (!s.ok()) return Invalid(Quote(item) + ": " + s.message());
    }
    acc(c) = std::move(items);
    return Status::Ok();
  };
  d.from_text = [set](Config& c, std::string_view v) -> Status {
    std::vector<std::string> items;
    if (!Trim(v).empty()) {
      std::size_t start = 0;
      while (true) {
        std::size_t comma = v.find(',', start);
        std::string_view item =
            Trim(v.substr(start, comma == std::string_view::npos ? v.npos : comma - start));
        if (item.empty()) return Invalid("empty item in comma-separated list");
        items.emplace_back(item);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
    }
    return set(c, std::move(items));
  };
  d.from_toml = [set](Config& c, const toml::node& n) -> Status {
    const auto* arr = n.as_array();
    if (!arr) {
      if (n.is_string()) {
        return Invalid("expected an array of strings (write [" + Quote(*n.value<std::string>()) +
                       "]), got a string");
      }
      return WrongType("an array of strings", n);
    }
    std::vector<std::string> items;
    for (const auto& el : *arr) {
      const auto* s = el.as_string();
      if (!s)
        return Invalid(std::string("expected an array of strings, got an element that is ") +
                       TomlTypeName(el));
      items.push_back(s->get());
    }
    return set(c, std::move(items));
  };
  d.to_toml = [acc](const Config& c) {
    std::string out = "[";
    const auto& v = Get(acc, c);
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) out += ", ";
      out += Quote(v[i]);
    }
    return out + "]";
  };
  return d;
}

KeyDesc BoolKey(std::string section, std::string name, Accessor<bool> acc) {
  KeyDesc d;
  d.section = std::move(section);
  d.name = std::move(name);
  d.from_text = [acc](Config& c, std::string_view v) -> Status {
    std::string s = Lower(Trim(v));
    if (s == "true" || s == "yes" || s == "on" || s == "1") {
      acc(c) = true;
    } else if (s == "false" || s == "no" || s == "off" || s == "0") {
      acc(c) = false;
    } else {
      return Invalid("expected true or false");
    }
    return Status::Ok();
  };
  d.from_toml = [acc](Config& c, const toml::node& n) -> Status {
    const auto* b = n.as_boolean();
    if (!b) return WrongType("a boolean (true or false)", n);
    acc(c) = b->get();
    return Status::Ok();
  };
  d.to_toml = [acc](const Config& c) { return std::string(Get(acc, c) ? "true" : "false"); };
  return d;
}

template <typename T>
KeyDesc IntKey(std::string section, std::string name, Accessor<T> acc, std::int64_t min,
               std::int64_t max) {
  KeyDesc d;
  d.section = std::move(section);
  d.name = std::move(name);
  auto set = [acc, min, max](Config& c, std::int64_t v) -> Status {
    if (v < min || v > max) {
      return Invalid("expected an integer from " + std::to_string(min) + " to " +
                     std::to_string(max) + ", got " + std::to_string(v));
    }
    acc(c) = static_cast<T>(v);
    return Status::Ok();
  };
  d.from_text = [set](Config& c, std::string_view v) -> Status {
    std::int64_t n;
    if (!ParseSigned(Trim(v), n)) return Invalid("expected an integer");
    return set(c, n);
  };
  d.from_toml = [set](Config& c, const toml::node& n) -> Status {
    const auto* i = n.as_integer();
    if (!i) return WrongType("an integer", n);
    return set(c, i->get());
  };
  d.to_toml = [acc](const Config& c) { return std::to_string(Get(acc, c)); };
  return d;
}

// Sizes: an integer of bytes or a string such as "50M".
template <typename T>
KeyDesc SizeKey(std::string section, std::string name, Accessor<T> acc, std::uint64_t min,
                std::uint64_t max) {
  KeyDesc d;
  d.section = std::move(section);
  d.name = std::move(name);
  auto set = [acc, min, max](Config& c, std::uint64_t v) -> Status {
    if (v < min || v > max) {
      return Invalid("expected a size from " + std::to_string(min) + " to " + std::to_string(max) +
                     " bytes, got " + std::to_string(v));
    }
    acc(c) = static_cast<T>(v);
    return Status::Ok();
  };
  d.from_text = [set](Config& c, std::string_view v) -> Status {
    auto n = ParseSize(v);
    if (!n.ok()) return n.status();
    return set(c, *n);
  };
  d.from_toml = [set, from = d.from_text](Config& c, const toml::node& n) -> Status {
    if (const auto* i = n.as_integer()) {
      if (i->get() < 0) return Invalid("expected a size, got a negative number");
      return set(c, static_cast<std::uint64_t>(i->get()));
    }
    if (const auto* s = n.as_string()) return from(c, s->get());
    return WrongType("a size (bytes, or a string such as \"50M\")", n);
  };
  d.to_toml = [acc](const Config& c) {
    return FormatSize(static_cast<std::uint64_t>(Get(acc, c)));
  };
  return d;
}

// Durations: an integer of seconds or a string such as "30s", "10m", "500ms".
template <typename D>
KeyDesc DurationKey(std::string section, std::string name, Accessor<D> acc, Millis min) {
  KeyDesc d;
  d.section = std::move(section);
  d.name = std::move(name);
  auto set = [acc, min](Config& c, Millis v) -> Status {
    if (v < min) return Invalid("expected a duration of at least " + FormatMillis(min));
    if constexpr (std::is_same_v<D, Seconds>) {
      if (v.count() % 1000 != 0) return Invalid("expected a whole number of seconds");
    }
    acc(c) = std::chrono::duration_cast<D>(v);
    return Status::Ok();
  };
  d.from_text = [set](Config& c, std::string_view v) -> Status {
    auto ms = ParseMillis(v);
    if (!ms.ok()) return ms.status();
    return set(c, *ms);
  };
  d.from_toml = [from = d.from_text](Config& c, const toml::node& n) -> Status {
    if (const auto* i = n.as_integer()) {
      if (i->get() < 0) return Invalid("expected a duration, got a negative number");
      return from(c, std::to_string(i->get()));
    }
    if (const auto* s = n.as_string()) return from(c, s->get());
    return WrongType("a duration (seconds, or a string such as \"30s\", \"10m\")", n);
  };
  d.to_toml = [acc](const Config& c) {
    return Quote(FormatMillis(std::chrono::duration_cast<Millis>(Get(acc, c))));
  };
  return d;
}

// Enumerations: a string parsed by `parse` and printed by `format`.
template <typename T>
KeyDesc EnumKey(std::string section, std::string name, Accessor<T> acc,
                Result<T> (*parse)(std::string_view), std::string (*format)(const T&)) {
  KeyDesc d;
  d.section = std::move(section);
  d.name = std::move(name);
  d.from_text = [acc, parse](Config& c, std::string_view v) -> Status {
    auto r = parse(v);
    if (!r.ok()) return r.status();
    acc(c) = std::move(*r);
    return Status::Ok();
  };
  d.from_toml = [from = d.from_text](Config& c, const toml::node& n) -> Status {
    const auto* s = n.as_string();
    if (!s) return WrongType("a string", n);
    return from(c, s->get());
  };
  d.to_toml = [acc, format](const Config& c) { return Quote(format(Get(acc, c))); };
  return d;
}

Result<Plaintext> ParsePlaintext(std::string_view s) {
  if (s == "never") return Plaintext::kNever;
  if (s == "tls") return Plaintext::kTls;
  if (s == "tls_or_loopback") return Plaintext::kTlsOrLoopback;
  if (s == "always") return Plaintext::kAlways;
  return Invalid("expected never, tls, tls_or_loopback or always");
}

std::string FormatPlaintext(const Plaintext& p) {
  switch (p) {
    case Plaintext::kNever:
      return "never";
    case Plaintext::kTls:
      return "tls";
    case Plaintext::kTlsOrLoopback:
      return "tls_or_loopback";
    case Plaintext::kAlways:
      return "always";
  }
  return "tls_or_loopback";
}

std::string FormatDeletePolicy(const Pop3DeletePolicy& p) { return FormatPop3DeleteMode(p); }

// --- validators for strings and list items ---------------------------------

Status CheckTcpListen(std::string_view s) { return ParseListenAddress(s, false).status(); }
Status CheckAnyListen(std::string_view s) { return ParseListenAddress(s, true).status(); }

Status CheckNonEmpty(std::string_view s) {
  if (Trim(s).empty()) return Invalid("must not be empty");
  return Status::Ok();
}

Status CheckMinVersion(std::string_view s) {
  if (s == "1.2" || s == "1.3") return Status::Ok();
  return Invalid("expected \"1.2\" or \"1.3\"");
}

Status CheckHttpAuth(std::string_view s) {
  if (s == "token" || s == "none") return Status::Ok();
  return Invalid("expected \"token\" or \"none\"");
}

Status CheckLogLevel(std::string_view s) {
  if (s == "trace" || s == "debug" || s == "info" || s == "warn" || s == "error") {
    return Status::Ok();
  }
  return Invalid("expected trace, debug, info, warn or error");
}

Status CheckDomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return Invalid("expected a domain name");
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= ' ' || c == '@' || c == ',' || c == '/' || u == 0x7f) {
      return Invalid("expected a domain name");
    }
  }
  if (s.front() == '.' || s.back() == '.') return Invalid("expected a domain name");
  return Status::Ok();
}

Status CheckSeparator(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= ' ' || c == '@' || u == 0x7f) {
      return Invalid("separator characters must be printable and not '@'");
    }
  }
  return Status::Ok();
}

Status CheckExpireRule(std::string_view s) { return ParseExpireRule(s).status(); }

Status CheckSocketMode(std::string_view s) { return ParseSocketMode(s).status(); }
Status CheckSocketPath(std::string_view s) { return ParseSocketPath(s).status(); }

Status CheckName(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20) return Invalid("control characters not allowed");
  }
  return Status::Ok();
}

#define PB_FIELD(sec, field) \
#sec, #field, [](Config & c) -> auto& { return c.sec.field; }

std::vector<KeyDesc> BuildTable() {
  constexpr std::int64_t kIntMax = std::numeric_limits<int>::max();
  constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();
  constexpr std::uint64_t kSizeMax = std::numeric_limits<std::size_t>::max();
  constexpr std::uint64_t kGiB = 1024ull * 1024 * 1024;
  std::vector<KeyDesc> t;
  // [server]
  t.push_back(StringKey(PB_FIELD(server, data_dir), CheckNonEmpty));
  t.push_back(StringKey(PB_FIELD(server, hostname), CheckName));
  t.push_back(StringKey(PB_FIELD(server, user), CheckName));
  t.push_back(StringKey(PB_FIELD(server, group), CheckName));
  t.push_back(DurationKey<Seconds>(PB_FIELD(server, shutdown_grace), Millis(0)));
  // [imap]
  t.push_back(ListKey(PB_FIELD(imap, listen), CheckTcpListen));
  t.push_back(ListKey(PB_FIELD(imap, tls_listen), CheckTcpListen));
  t.push_back(DurationKey<Seconds>(PB_FIELD(imap, idle_timeout), Millis(1000)));
  t.push_back(StringKey(PB_FIELD(imap, profile), CheckImapProfile));
  t.back().per_user = true;
  t.push_back(StringKey(PB_FIELD(imap, capabilities), CheckImapRemovals));
  t.back().per_user = true;
  t.push_back(ListKey(PB_FIELD(imap, listener_profiles), CheckImapListenerProfile));
  // [pop3]
  t.push_back(ListKey(PB_FIELD(pop3, listen), CheckTcpListen));
  t.push_back(ListKey(PB_FIELD(pop3, tls_listen), CheckTcpListen));
  t.push_back(EnumKey<Pop3DeletePolicy>(PB_FIELD(pop3, delete_mode), ParsePop3DeleteMode,
                                        FormatDeletePolicy));
  t.back().per_user = true;
  t.push_back(BoolKey(PB_FIELD(pop3, mark_seen_on_retr)));
  t.back().per_user = true;
  t.push_back(BoolKey(PB_FIELD(pop3, lock_session)));
  t.push_back(DurationKey<Seconds>(PB_FIELD(pop3, idle_timeout), Millis(1000)));
  t.push_back(DurationKey<Seconds>(PB_FIELD(pop3, login_delay), Millis(0)));
  t.push_back(StringKey(PB_FIELD(pop3, capabilities), CheckPop3Removals));
  t.back().per_user = true;
  t.push_back(ListKey(PB_FIELD(pop3, listener_capabilities), CheckPop3ListenerCapabilities));
  // [lmtp]
  t.push_back(ListKey(PB_FIELD(lmtp, listen), CheckAnyListen));
  t.push_back(StringKey(PB_FIELD(lmtp, socket_mode), CheckSocketMode));
  // [smtp]
  t.push_back(ListKey(PB_FIELD(smtp, listen), CheckTcpListen));
  t.push_back(ListKey(PB_FIELD(smtp, tls_listen), CheckTcpListen));
  t.push_back(BoolKey(PB_FIELD(smtp, catch_all)));
  t.push_back(StringKey(PB_FIELD(smtp, catch_all_user), CheckName));
  t.push_back(BoolKey(PB_FIELD(smtp, auth_required)));
  // [http]
  t.push_back(ListKey(PB_FIELD(http, listen), CheckTcpListen));
  t.push_back(ListKey(PB_FIELD(http, tls_listen), CheckTcpListen));
  t.push_back(StringKey(PB_FIELD(http, auth), CheckHttpAuth));
  t.push_back(StringKey(PB_FIELD(http, token_file)));  // a path, not a secret
  t.push_back(IntKey<int>(PB_FIELD(http, max_connections), 1, kIntMax));
  // [tls]
  t.push_back(StringKey(PB_FIELD(tls, cert)));
  t.push_back(StringKey(PB_FIELD(tls, key)));  // a path, not a secret
  t.push_back(StringKey(PB_FIELD(tls, min_version), CheckMinVersion));
  t.push_back(DurationKey<Seconds>(PB_FIELD(tls, handshake_timeout), Millis(1000)));
  // [auth]
  t.push_back(EnumKey<Plaintext>(PB_FIELD(auth, plaintext), ParsePlaintext, FormatPlaintext));
  t.push_back(DurationKey<Millis>(PB_FIELD(auth, failure_delay), Millis(0)));
  t.push_back(DurationKey<Millis>(PB_FIELD(auth, max_failure_delay), Millis(0)));
  t.push_back(IntKey<int>(PB_FIELD(auth, lockout_failures), 0, kIntMax));
  t.push_back(DurationKey<Seconds>(PB_FIELD(auth, lockout_time), Millis(0)));
  t.push_back(IntKey<int>(PB_FIELD(auth, hash_threads), 0, 256));
  t.push_back(StringKey(PB_FIELD(auth, postfix_socket), CheckSocketPath));
  t.push_back(StringKey(PB_FIELD(auth, postfix_socket_mode), CheckSocketMode));
  // [delivery]
  t.push_back(ListKey(PB_FIELD(delivery, domains), CheckDomain));
  t.push_back(StringKey(PB_FIELD(delivery, subaddress_separator), CheckSeparator));
  t.push_back(BoolKey(PB_FIELD(delivery, over_quota_temporary)));
  t.push_back(StringKey(PB_FIELD(delivery, socketmap_socket), CheckSocketPath));
  t.push_back(StringKey(PB_FIELD(delivery, socketmap_socket_mode), CheckSocketMode));
  // [limits]
  t.push_back(IntKey<int>(PB_FIELD(limits, max_connections), 1, kIntMax));
  t.push_back(IntKey<int>(PB_FIELD(limits, max_smtp_connections), 1, kIntMax));
  t.push_back(IntKey<int>(PB_FIELD(limits, max_lmtp_connections), 1, kIntMax));
  t.push_back(IntKey<int>(PB_FIELD(limits, max_connections_per_ip), 1, kIntMax));
  t.push_back(DurationKey<Seconds>(PB_FIELD(limits, login_timeout), Millis(1000)));
  // IMAP needs room for a command with a few arguments even before login.
  t.push_back(SizeKey<std::size_t>(PB_FIELD(limits, max_line_length), 512, kGiB));
  t.push_back(SizeKey<std::size_t>(PB_FIELD(limits, max_line_length_preauth), 512, kGiB));
  t.push_back(SizeKey<std::size_t>(PB_FIELD(limits, max_message_size), 1024, kSizeMax));
  // RFC 5321 4.5.3.1.6: a server must accept lines of 1000 octets.
  t.push_back(SizeKey<std::size_t>(PB_FIELD(limits, smtp_max_line_length), 1000, kGiB));
  // RFC 5321 4.5.3.1.8: at least 100 recipients must be accepted.
  t.push_back(IntKey<int>(PB_FIELD(limits, smtp_max_recipients), 1, kIntMax));
  t.push_back(IntKey<int>(PB_FIELD(limits, max_bad_commands), 1, kIntMax));
  t.push_back(IntKey<int>(PB_FIELD(limits, max_keywords), 0, kIntMax));
  t.push_back(SizeKey<std::size_t>(PB_FIELD(limits, output_high_water), 1024, kSizeMax));
  t.push_back(SizeKey<std::size_t>(PB_FIELD(limits, output_low_water), 0, kSizeMax));
  t.push_back(SizeKey<std::size_t>(PB_FIELD(limits, max_memory), 0, kSizeMax));
  t.push_back(SizeKey<std::uint64_t>(PB_FIELD(limits, max_search_work), 1024, kU64Max));
  // [quota]
  t.push_back(SizeKey<std::uint64_t>(PB_FIELD(quota, storage_bytes), 0, kU64Max));
  t.push_back(IntKey<std::uint64_t>(PB_FIELD(quota, messages), 0,
                                    std::numeric_limits<std::int64_t>::max()));
  // [retention]
  t.push_back(ListKey(PB_FIELD(retention, expire_after), CheckExpireRule));
  t.push_back(DurationKey<Seconds>(PB_FIELD(retention, sweep_interval), Millis(1000)));
  // [journal]
  t.push_back(IntKey<int>(PB_FIELD(journal, max_age_days), 1, kIntMax));
  t.push_back(IntKey<std::uint64_t>(PB_FIELD(journal, max_events_per_user), 1,
                                    std::numeric_limits<std::int64_t>::max()));
  // [log]
  t.push_back(StringKey(PB_FIELD(log, level), CheckLogLevel));
  t.push_back(BoolKey(PB_FIELD(log, transcripts)));
  // [dev]
  t.push_back(BoolKey(PB_FIELD(dev, auto_create_users)));
  t.push_back(StringKey(PB_FIELD(dev, auto_create_password)));
  t.back().secret = true;
  t.push_back(BoolKey(PB_FIELD(dev, deterministic)));
  t.push_back(BoolKey(PB_FIELD(dev, allow_remote)));
  t.push_back(BoolKey(PB_FIELD(dev, transcripts)));
  t.push_back(IntKey<int>(PB_FIELD(dev, transcript_sessions), 0, 100000));
  t.push_back(StringKey(PB_FIELD(dev, transcript_dir)));
  return t;
}

#undef PB_FIELD

const std::vector<KeyDesc>& Table() {
  static const std::vector<KeyDesc> table = BuildTable();
  return table;
}

const KeyDesc* FindKey(std::string_view section, std::string_view name) {
  for (const auto& k : Table()) {
    if (k.section == section && k.name == name) return &k;
  }
  return nullptr;
}

bool IsSection(std::string_view section) {
  for (const auto& k : Table()) {
    if (k.section == section) return true;
  }
  return false;
}

// Levenshtein distance, for "did you mean" suggestions.
std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The candidate nearest to `word` (case-insensitive), or "" when none is
// close enough to be a likely typo: at most a third of the word's letters
// differ (and at least 1, at most 4 edits).
std::string Nearest(std::string_view word, const std::vector<std::string>& candidates) {
  std::string lower = Lower(word);
  std::size_t limit = std::clamp<std::size_t>(lower.size() / 3, 1, 4);
  std::string best;
  std::size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    std::size_t d = EditDistance(lower, Lower(c));
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string DidYouMean(const std::string& suggestion) {
  return suggestion.empty() ? "" : "; did you mean " + suggestion + "?";
}

std::string LineOf(const toml::node& node) {
  const auto& src = node.source();
  if (src.begin.line == 0) return "";
  return " (line " + std::to_string(src.begin.line) + ")";
}

Status KeyError(std::string_view key, const Status& s) {
  return Invalid(std::string(key) + ": " + s.message());
}

// Constraints between keys, checked after the file and the environment.
// A per-listener entry must name an address the protocol listens on.
Status CheckListenerEntries(const std::vector<std::string>& entries,
                            const std::vector<std::string>& listen,
                            const std::vector<std::string>& tls_listen, const std::string& key) {
  for (const std::string& entry : entries) {
    std::string address = entry.substr(0, entry.find('='));
    while (!address.empty() && address.back() == ' ') address.pop_back();
    if (std::find(listen.begin(), listen.end(), address) == listen.end() &&
        std::find(tls_listen.begin(), tls_listen.end(), address) == tls_listen.end()) {
      return Invalid(key + ": " + address + " is not one of the listen or tls_listen addresses");
    }
  }
  return Status::Ok();
}

Status Validate(const Config& c) {
  PB_RETURN_IF_ERROR(CheckListenerEntries(c.imap.listener_profiles, c.imap.listen,
                                          c.imap.tls_listen, "imap.listener_profiles"));
  PB_RETURN_IF_ERROR(CheckListenerEntries(c.pop3.listener_capabilities, c.pop3.listen,
                                          c.pop3.tls_listen, "pop3.listener_capabilities"));
  if (c.limits.output_low_water >= c.limits.output_high_water) {
    return Invalid("limits.output_low_water: must be below limits.output_high_water (" +
                   std::to_string(c.limits.output_high_water) + ")");
  }
  if (c.limits.max_line_length_preauth > c.limits.max_line_length) {
    return Invalid("limits.max_line_length_preauth: must not exceed limits.max_line_length (" +
                   std::to_string(c.limits.max_line_length) + ")");
  }
  if (c.auth.failure_delay > c.auth.max_failure_delay) {
    return Invalid("auth.failure_delay: must not exceed auth.max_failure_delay (" +
                   FormatMillis(c.auth.max_failure_delay) + ")");
  }
  if (c.tls.cert.empty() != c.tls.key.empty()) {
    return Invalid(c.tls.cert.empty() ? "tls.cert: must be set when tls.key is set"
                                      : "tls.key: must be set when tls.cert is set");
  }
  if (!c.server.group.empty() && c.server.user.empty()) {
    return Invalid("server.group: requires server.user");
  }
  if (c.smtp.catch_all_user.size() > 0 && !c.smtp.catch_all) {
    return Invalid("smtp.catch_all_user: requires smtp.catch_all = true");
  }
  // The same address must not be bound twice.
  std::map<std::string, std::string> seen;
  auto check_lists = [&](const char* key, const std::vector<std::string>& list) -> Status {
    for (const auto& a : list) {
      auto parsed = ParseListenAddress(a, true);
      if (!parsed.ok()) continue;                           // already reported per key
      if (!parsed->is_unix && parsed->port == 0) continue;  // each gets a port of its own
      std::string norm = parsed->is_unix ? "unix:" + parsed->path
                                         : parsed->host + "|" + std::to_string(parsed->port);
      auto [it, inserted] = seen.emplace(norm, key);
      if (!inserted) {
        return Invalid(std::string(key) + ": " + Quote(a) + " is also in " + it->second);
      }
    }
    return Status::Ok();
  };
  PB_RETURN_IF_ERROR(check_lists("imap.listen", c.imap.listen));
  PB_RETURN_IF_ERROR(check_lists("imap.tls_listen", c.imap.tls_listen));
  PB_RETURN_IF_ERROR(check_lists("pop3.listen", c.pop3.listen));
  PB_RETURN_IF_ERROR(check_lists("pop3.tls_listen", c.pop3.tls_listen));
  PB_RETURN_IF_ERROR(check_lists("lmtp.listen", c.lmtp.listen));
  PB_RETURN_IF_ERROR(check_lists("smtp.listen", c.smtp.listen));
  PB_RETURN_IF_ERROR(check_lists("smtp.tls_listen", c.smtp.tls_listen));
  PB_RETURN_IF_ERROR(check_lists("http.listen", c.http.listen));
  PB_RETURN_IF_ERROR(check_lists("http.tls_listen", c.http.tls_listen));
  for (const auto& [key, value] :
       {std::pair<const char*, const std::string&>{"auth.postfix_socket", c.auth.postfix_socket},
        {"delivery.socketmap_socket", c.delivery.socketmap_socket}}) {
    auto path = ParseSocketPath(value);
    if (!path.ok() || path->empty()) continue;
    PB_RETURN_IF_ERROR(check_lists(key, {"unix:" + *path}));
  }
  return Status::Ok();
}

Status ApplyEnv(Config& c, EnvLookup env, ConfigSources* sources) {
  if (!env) return Status::Ok();
  for (const auto& k : Table()) {
    std::string var = k.EnvName();
    std::optional<std::string> v = env(var.c_str());
    if (!v) continue;
    Status s = k.from_text(c, *v);
    if (!s.ok()) return Invalid(k.FullName() + " (from " + var + "): " + s.message());
    if (sources) {
      std::string& origin = (*sources)[k.FullName()];
      origin = origin.empty() ? "from " + var : "from " + var + ", overrides the file";
    }
  }
  return Status::Ok();
}

Status ApplyToml(Config& c, const toml::table& root, std::string_view origin,
                 ConfigSources* sources) {
  for (const auto& [section_key, section_node] : root) {
    std::string section(section_key.str());
    if (section == "faults") {
      // [[faults]]: fault rules for client developers, kept as the JSON
      // array PUT /api/v1/faults takes; serve checks them
      // (protocols::ParseFaultRules).
      const auto* rules = section_node.as_array();
      if (!rules || !rules->is_array_of_tables()) {
        return Invalid("faults: expected [[faults]] tables" + LineOf(section_node));
      }
      std::ostringstream json;
      json << toml::json_formatter{*rules};
      c.faults = json.str();
      if (sources) (*sources)["faults"] = "from " + std::string(origin);
      continue;
    }
    if (!IsSection(section)) {
      std::vector<std::string> sections;
      for (const auto& k : Table()) {
        if (sections.empty() || sections.back() != k.section) sections.push_back(k.section);
      }
      std::string nearest = Nearest(section, sections);
      return Invalid(section + ": unknown section" + LineOf(section_node) +
                     DidYouMean(nearest.empty() ? "" : "[" + nearest + "]"));
    }
    const auto* table = section_node.as_table();
    if (!table) return Invalid(section + ": expected a table ([" + section + "])");
    for (const auto& [key_key, node] : *table) {
      std::string name(key_key.str());
      const KeyDesc* k = FindKey(section, name);
      if (!k) {
        // Suggest among the keys of this section first, then anywhere (a
        // key put under the wrong section).
        std::vector<std::string> here, all;
        for (const auto& d : Table()) {
          if (d.section == section) here.push_back(d.FullName());
          all.push_back(d.FullName());
        }
        std::string nearest = Nearest(section + "." + name, here);
        if (nearest.empty()) nearest = Nearest(section + "." + name, all);
        if (nearest.empty()) {
          for (const auto& d : Table()) {
            if (d.name == Lower(name)) nearest = d.FullName();
          }
        }
        return Invalid(section + "." + name + ": unknown key" + LineOf(node) + DidYouMean(nearest));
      }
      Status s = k->from_toml(c, node);
      if (!s.ok()) return Invalid(k->FullName() + ": " + s.message() + LineOf(node));
      if (sources) (*sources)[k->FullName()] = "from " + std::string(origin);
    }
  }
  return Status::Ok();
}

std::string SyntaxError(std::string_view origin, const toml::parse_error& e) {
  std::string out(origin.empty() ? "config" : origin);
  out += ":" + std::to_string(e.source().begin.line) + ":" +
         std::to_string(e.source().begin.column) + ": " + OneLine(e.description());
  return out;
}

}  // namespace

Result<Pop3DeletePolicy> ParsePop3DeleteMode(std::string_view text) {
  Pop3DeletePolicy p;
  if (text == "expunge") {
    p.mode = Pop3DeleteMode::kExpunge;
  } else if (text == "hide") {
    p.mode = Pop3DeleteMode::kHide;
  } else if (text == "deny") {
    p.mode = Pop3DeleteMode::kDeny;
  } else if (text.starts_with("move:") && text.size() > 5) {
    p.mode = Pop3DeleteMode::kMove;
    p.move_target = std::string(text.substr(5));
    for (char c : p.move_target) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        return Invalid("move:MAILBOX: control characters are not allowed in the mailbox name");
      }
    }
    if (Lower(p.move_target) == "inbox") {
      return Invalid("move:MAILBOX: the target must not be INBOX");
    }
  } else {
    return Invalid("expected expunge, hide, move:MAILBOX or deny");
  }
  return p;
}

std::string FormatPop3DeleteMode(const Pop3DeletePolicy& p) {
  switch (p.mode) {
    case Pop3DeleteMode::kExpunge:
      return "expunge";
    case Pop3DeleteMode::kHide:
      return "hide";
    case Pop3DeleteMode::kMove:
      return "move:" + p.move_target;
    case Pop3DeleteMode::kDeny:
      return "deny";
  }
  return "expunge";
}

std::optional<std::string> RealEnv(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

namespace {

// Parses the file's text; a relative server.data_dir written in the file is
// taken relative to `base_dir` (the file's directory) when that is set.
Result<Config> ParseConfigIn(std::string_view toml_text, std::string_view origin, EnvLookup env,
                             const std::filesystem::path& base_dir, ConfigSources* sources) {
  Config config;
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(toml_text, origin);
  } catch (const toml::parse_error& e) {
    return Invalid(SyntaxError(origin, e));
  }
#else
  toml::parse_result parsed = toml::parse(toml_text, origin);
  if (!parsed) return Invalid(SyntaxError(origin, parsed.error()));
  root = std::move(parsed).table();
#endif
  PB_RETURN_IF_ERROR(ApplyToml(config, root, origin.empty() ? "config" : origin, sources));
  config.server.data_dir_in_file = static_cast<bool>(root["server"]["data_dir"]);
  if (!base_dir.empty() && root["server"]["data_dir"]) {
    std::filesystem::path dir(config.server.data_dir);
    if (dir.is_relative()) config.server.data_dir = (base_dir / dir).lexically_normal().string();
    while (config.server.data_dir.size() > 1 && config.server.data_dir.back() == '/') {
      config.server.data_dir.pop_back();
    }
  }
  PB_RETURN_IF_ERROR(ApplyEnv(config, env, sources));
  PB_RETURN_IF_ERROR(Validate(config));
  return config;
}

}  // namespace

Result<Config> ParseConfig(std::string_view toml_text, std::string_view origin, EnvLookup env) {
  return ParseConfigIn(toml_text, origin, env, {}, nullptr);
}

Result<Config> LoadConfig(const std::string& path, EnvLookup env, ConfigSources* sources) {
  if (sources) sources->clear();
  if (path.empty()) {
    Config config;
    PB_RETURN_IF_ERROR(ApplyEnv(config, env, sources));
    PB_RETURN_IF_ERROR(Validate(config));
    return config;
  }
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (std::filesystem::is_directory(st)) {
    // Docker creates a directory where a bind-mounted file is missing.
    return Status::IOError(path +
                           ": is a directory, not a configuration file (a bind mount of a "
                           "missing file?)");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::IOError(path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::IOError(path + ": read error");
  std::filesystem::path base = std::filesystem::absolute(path, ec).parent_path();
  return ParseConfigIn(text.str(), path, env, base, sources);
}

std::vector<std::string> UnknownEnvWarnings(const std::vector<std::string>& names) {
  // PILLARBOX_* variables that are not keys: the container entry point's
  // and the test and benchmark tools'.
  static const char* const kNotKeys[] = {
      "PILLARBOX_USERS",  "PILLARBOX_SEED_DIR",   "PILLARBOX_TLS_DIR",
      "PILLARBOX_BIN",    "PILLARBOX_SOURCE_DIR", "PILLARBOX_DEBIAN_MIRROR",
      "PILLARBOX_CONFIG", "PILLARBOX_USERS_FILE", "PILLARBOX_DEV_AUTO_CREATE_PASSWORD_FILE"};
  std::vector<std::string> vars;
  for (const auto& k : Table()) vars.push_back(k.EnvName());
  std::vector<std::string> out;
  for (const auto& name : names) {
    if (!name.starts_with("PILLARBOX_") || name.starts_with("PILLARBOX_BENCH")) continue;
    if (std::find(vars.begin(), vars.end(), name) != vars.end()) continue;
    if (std::any_of(std::begin(kNotKeys), std::end(kNotKeys),
                    [&](const char* n) { return name == n; })) {
      continue;
    }
    out.push_back("environment variable " + name + " is not a setting and is ignored" +
                  DidYouMean(Nearest(name, vars)));
  }
  return out;
}

std::vector<std::string> EnvironmentNames() {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    out.emplace_back(entry.substr(0, entry.find('=')));
  }
  return out;
}

namespace {

std::string MaskedValue(const KeyDesc& k, const Config& config) {
  std::string value = k.to_toml(config);
  if (k.secret && value != "\"\"") value = Quote("********");
  return value;
}

}  // namespace

std::string DumpConfig(const Config& config, const ConfigSources* sources) {
  std::string out;
  std::string section;
  for (const auto& k : Table()) {
    if (k.section != section) {
      if (!section.empty()) out += "\n";
      section = k.section;
      out += "[" + section + "]\n";
    }
    out += k.name + " = " + MaskedValue(k, config);
    if (sources) {
      auto it = sources->find(k.FullName());
      if (it != sources->end()) out += "  # " + OneLine(it->second);
    }
    out += "\n";
  }
  if (!config.faults.empty()) {
    // The rules as JSON (the form of GET /api/v1/faults): one comment line.
    out += "\n# [[faults]] (as JSON): " + OneLine(config.faults) + "\n";
  }
  return out;
}

std::vector<std::string> DescribeSources(const Config& config, const ConfigSources& sources) {
  std::vector<std::string> out;
  for (const auto& k : Table()) {
    auto it = sources.find(k.FullName());
    if (it == sources.end()) continue;
    out.push_back(k.FullName() + " = " + MaskedValue(k, config) + " (" + it->second + ")");
  }
  return out;
}

std::vector<std::string> AllKeys() {
  std::vector<std::string> keys;
  for (const auto& k : Table()) keys.push_back(k.FullName());
  return keys;
}

Result<Seconds> ParseDuration(std::string_view text) {
  auto ms = ParseMillis(text);
  if (!ms.ok()) return ms.status();
  if (ms->count() % 1000 != 0) return Invalid("expected a whole number of seconds");
  return std::chrono::duration_cast<Seconds>(*ms);
}

Result<std::chrono::milliseconds> ParseDurationMs(std::string_view text) {
  return ParseMillis(text);
}

Result<std::uint64_t> ParseSize(std::string_view text) {
  std::string_view s = Trim(text);
  static constexpr const char* kExpected =
      "expected a size such as \"512K\", \"50M\", \"1G\" or a number of bytes";
  std::size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  std::uint64_t n = 0;
  if (!ParseUnsigned(s.substr(0, digits), n)) return Invalid(kExpected);
  std::string unit = Lower(Trim(s.substr(digits)));
  if (unit.size() == 3 && unit.substr(1) == "ib") unit = unit.substr(0, 1);
  if (unit.size() == 2 && unit[1] == 'b') unit = unit.substr(0, 1);
  int shift;
  if (unit.empty() || unit == "b") {
    shift = 0;
  } else if (unit == "k") {
    shift = 10;
  } else if (unit == "m") {
    shift = 20;
  } else if (unit == "g") {
    shift = 30;
  } else if (unit == "t") {
    shift = 40;
  } else {
    return Invalid(kExpected);
  }
  if (shift > 0 && n > (std::numeric_limits<std::uint64_t>::max() >> shift)) {
    return Invalid("size too large");
  }
  return n << shift;
}

Result<unsigned> ParseSocketMode(std::string_view text) {
  if (text.empty() || text.size() > 4) return Invalid("expected an octal mode such as \"0660\"");
  unsigned mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return Invalid("expected an octal mode such as \"0660\"");
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  if (mode > 0777) return Invalid("expected an octal mode of at most 0777");
  // A socket nobody may write to cannot be connected to, even by the owner.
  if ((mode & 0200) == 0) return Invalid("the owner must be allowed to write (connect)");
  return mode;
}

Result<std::string> ParseSocketPath(std::string_view text) {
  if (text.empty()) return std::string();
  if (text.starts_with("unix:")) text.remove_prefix(5);
  if (text.empty() || text.front() != '/') return Invalid("expected an absolute path");
  // sockaddr_un.sun_path is 108 bytes including the terminator.
  if (text.size() > 107) return Invalid("unix socket path too long (at most 107 bytes)");
  return std::string(text);
}

Result<ListenAddress> ParseListenAddress(std::string_view text, bool allow_unix) {
  ListenAddress a;
  if (text.starts_with("unix:")) {
    if (!allow_unix) return Invalid("unix sockets are only supported for lmtp.listen");
    a.is_unix = true;
    a.path = std::string(text.substr(5));
    if (a.path.empty() || a.path.front() != '/') {
      return Invalid("expected unix:/absolute/path");
    }
    // sockaddr_un.sun_path is 108 bytes including the terminator.
    if (a.path.size() > 107) return Invalid("unix socket path too long (at most 107 bytes)");
    return a;
  }
  std::string_view host, port;
  if (text.starts_with("[")) {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Invalid("expected [IPv6]:port");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    in6_addr addr6;
    if (!inet_pton(AF_INET6, std::string(host).c_str(), &addr6)) {
      return Invalid("\"" + std::string(host) + "\" is not an IPv6 address");
    }
    a.ipv6 = true;
  } else {
    std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Invalid(allow_unix ? "expected host:port, [IPv6]:port or unix:/path"
                                : "expected host:port or [IPv6]:port");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Invalid("IPv6 addresses must be in brackets: [IPv6]:port");
    }
    in_addr addr4;
    if (!inet_pton(AF_INET, std::string(host).c_str(), &addr4)) {
      return Invalid("\"" + std::string(host) +
                     "\" is not an IPv4 address (use 0.0.0.0 for all, [::] for all IPv6)");
    }
  }
  std::uint64_t p;
  // 0: the system picks a free port (`serve --ports-file` reports it).
  if (!ParseUnsigned(port, p) || p > 65535) {
    return Invalid("port must be a number from 0 to 65535");
  }
  a.host = std::string(host);
  a.port = static_cast<std::uint16_t>(p);
  return a;
}

Result<ExpireRule> ParseExpireRule(std::string_view text) {
  std::size_t eq = text.rfind('=');
  if (eq == std::string_view::npos || eq == 0) {
    return Invalid("expected MAILBOX=DAYS or \\SpecialUse=DAYS, e.g. \\Trash=30");
  }
  ExpireRule r;
  r.mailbox = std::string(Trim(text.substr(0, eq)));
  std::uint64_t days;
  if (!ParseUnsigned(Trim(text.substr(eq + 1)), days) || days < 1 || days > 36500) {
    return Invalid("DAYS must be a number from 1 to 36500");
  }
  if (r.mailbox.empty()) return Invalid("expected MAILBOX=DAYS");
  if (r.mailbox.front() == '\\') {
    static const char* const kUses[] = {"\\Sent", "\\Drafts", "\\Trash", "\\Junk", "\\Archive"};
    bool ok = false;
    for (const char* u : kUses) ok = ok || Lower(r.mailbox) == Lower(u);
    if (!ok)
      return Invalid(
          "unknown special use (expected \\Sent, \\Drafts, \\Trash, \\Junk or \\Archive)");
  }
  r.days = static_cast<std::int64_t>(days);
  return r;
}

Result<std::vector<ExpireRule>> ParseExpireRules(const std::vector<std::string>& entries) {
  std::vector<ExpireRule> rules;
  for (const std::string& e : entries) {
    auto r = ParseExpireRule(e);
    if (!r.ok()) {
      return Invalid("retention.expire_after: \"" + e + "\": " + r.status().message());
    }
    rules.push_back(std::move(*r));
  }
  return rules;
}

std::vector<std::string> UserSettingKeys() {
  std::vector<std::string> keys;
  for (const auto& k : Table()) {
    if (k.per_user) keys.push_back(k.FullName());
  }
  return keys;
}

Status ApplyUserSetting(Config& config, std::string_view key, std::string_view value) {
  for (const auto& k : Table()) {
    if (k.FullName() != key) continue;
    if (!k.per_user) {
      return Invalid(std::string(key) + ": cannot be set per user");
    }
    Status s = k.from_text(config, value);
    if (!s.ok()) return KeyError(key, s);
    return Status::Ok();
  }
  return Invalid(std::string(key) + ": unknown key");
}

Result<std::string> CanonicalUserSetting(std::string_view key, std::string_view value) {
  Config scratch;
  PB_RETURN_IF_ERROR(ApplyUserSetting(scratch, key, value));
  for (const auto& k : Table()) {
    if (k.FullName() != key) continue;
    std::string text = k.to_toml(scratch);
    // Per-user keys are enums, booleans and durations: no escapes inside.
    if (text.size() >= 2 && text.front() == '"') text = text.substr(1, text.size() - 2);
    return text;
  }
  return Invalid(std::string(key) + ": unknown key");
}

Status ValidateUserSetting(std::string_view key, std::string_view value) {
  Config scratch;
  return ApplyUserSetting(scratch, key, value);
}

Config UserConfig(const Config& base, const std::map<std::string, std::string>& settings,
                  std::vector<std::string>* problems) {
  Config out = base;
  for (const auto& [key, value] : settings) {
    Status s = ApplyUserSetting(out, key, value);
    if (!s.ok() && problems) problems->push_back(s.message());
  }
  return out;
}

}  // namespace pillarbox::config
