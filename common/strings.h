// Small dependency-free string and byte helpers: ASCII case folding (IMAP
// and user names compare ASCII letters case-insensitively and keep other
// UTF-8 bytes as they are) and big-endian integer codecs (LMDB keys sort
// bytewise, so integers in keys are stored big-endian).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace pillarbox {

constexpr char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }
constexpr char AsciiUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c; }

// Lower-cases ASCII letters only; every other byte is kept.
std::string AsciiFold(std::string_view s);
bool EqualsIgnoreAsciiCase(std::string_view a, std::string_view b);
bool StartsWithIgnoreAsciiCase(std::string_view s, std::string_view prefix);
// <0, 0, >0 like memcmp, on ASCII-folded bytes.
int CompareIgnoreAsciiCase(std::string_view a, std::string_view b);

// Longest client-supplied value LogSafe() copies into a log line; a user
// name, mailbox name or address is far shorter, and a flood must not
// become a flood in the log.
inline constexpr std::size_t kLogSafeMaxBytes = 256;

// A value that came from a client, made safe to log: control bytes (below
// 0x20, and 0x7f) and bytes that are not part of well-formed UTF-8 are
// written as \xNN, so that the value can neither end the log line and forge
// the next one nor hide text from a terminal. Longer than `max_bytes`, it is
// cut (at a character boundary) and "... (N bytes)" follows.
std::string LogSafe(std::string_view s, std::size_t max_bytes = kLogSafeMaxBytes);

// LogSafe() for a value logged as a field of a `key=value` line that log
// scanners such as fail2ban match: a space, '"' and '\\' are written as \xNN
// too, so that the value can neither close a quoted field nor pose as
// another field of the line.
std::string LogField(std::string_view s, std::size_t max_bytes = kLogSafeMaxBytes);

// `s` as a double-quoted string literal that is valid both as JSON and as a
// TOML basic string: '"', '\\', and control characters escaped (\n, \r, \t,
// \u00XX), UTF-8 kept, and bytes that are not well-formed UTF-8 replaced by
// U+FFFD, so that the result always parses.
std::string QuotedString(std::string_view s);

// Big-endian fixed-width integers.
inline void PutBigEndian64(std::string& out, std::uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out.append(b, 8);
}
inline void PutBigEndian32(std::string& out, std::uint32_t v) {
  char b[4];
  for (int i = 3; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out.append(b, 4);
}
inline void PutBigEndian16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}
// REQUIRES: p points at 8 (4, 2) readable bytes.
inline std::uint64_t GetBigEndian64(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | b[i];
  return v;
}
inline std::uint32_t GetBigEndian32(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  return (std::uint32_t{b[0]} << 24) | (std::uint32_t{b[1]} << 16) | (std::uint32_t{b[2]} << 8) |
         std::uint32_t{b[3]};
}
inline std::uint16_t GetBigEndian16(const void* p) {
  const auto* b = static_cast<const unsigned char*>(p);
  return static_cast<std::uint16_t>((b[0] << 8) | b[1]);
}
// Signed values in keys: the sign bit is flipped so that negative numbers
// sort before positive ones.
inline void PutOrderedInt64(std::string& out, std::int64_t v) {
  PutBigEndian64(out, static_cast<std::uint64_t>(v) ^ (std::uint64_t{1} << 63));
}
inline std::int64_t GetOrderedInt64(const void* p) {
  return static_cast<std::int64_t>(GetBigEndian64(p) ^ (std::uint64_t{1} << 63));
}

}  // namespace pillarbox
