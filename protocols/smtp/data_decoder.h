// The DATA body decoder (RFC 5321 4.5.2): removes dot-stuffing and finds the
// terminating <CRLF>.<CRLF>, across input split at any byte.
//
// Only CRLF starts a line here: a bare LF followed by "." is message content,
// never the end of the data, and a bare LF does not start a dot-stuffed line.
// Reading "<LF>.<CRLF>" as the end is what SMTP smuggling exploits; Postfix
// (smtpd_forbid_bare_newline) and Dovecot took the same stance. The CRLF in
// front of the final dot belongs to the message.
//
// Bytes beyond `limit` are counted but not kept, so an oversized message is
// read to its end without growing memory; the caller then rejects it.
//
// Thread-safety: a value; one user at a time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pillarbox::smtp {

class DotDecoder {
 public:
  explicit DotDecoder(std::size_t limit) : limit_(limit) {}

  // Decodes from `in` into `out` until the terminator. Returns how many bytes
  // of `in` were consumed; sets *done when the terminator was consumed (the
  // bytes after it are left to the caller).
  std::size_t Feed(std::string_view in, std::string* out, bool* done);

  // Decoded size so far, including bytes dropped over the limit.
  std::size_t size() const { return size_; }
  bool overflow() const { return size_ > limit_; }

 private:
  enum class State { kLineStart, kMiddle, kCr, kDot, kDotCr };
  void Emit(std::string* out, const char* p, std::size_t n);

  std::size_t limit_;
  std::size_t size_ = 0;
  State state_ = State::kLineStart;
};

}  // namespace pillarbox::smtp
