// Protocol transcripts ([log] transcripts = true): every line a client sends
// and every line the server answers, logged at debug level with the
// connection id, with credentials redacted.
//
// Redaction lives here, in the connection layer, so that no session has to
// remember it: it recognizes, for all four protocols,
//   IMAP  LOGIN user password    -> LOGIN user ***  (also with literals)
//         AUTHENTICATE mech [ir] -> AUTHENTICATE mech ***
//   POP3  PASS secret, APOP user digest, AUTH mech [ir]
//   SMTP  AUTH mech [ir]
//   Dovecot auth (Postfix SASL)  AUTH<TAB>id<TAB>mech<TAB>... -> AUTH\tid\tmech ***,
//         CONT<TAB>id<TAB>data -> CONT\tid ***
// and every client line of a SASL exchange (after AUTH/AUTHENTICATE until
// the server answers with something other than a continuation, "+ " or
// "334 ") is logged as "***".
//
// Every logged line has its control bytes and malformed UTF-8 escaped
// (LogSafe, common/strings.h): a client cannot forge log lines.
//
// Threads: owned by one connection.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

namespace pillarbox::server {

class Transcript {
 public:
  // Longest line logged; the rest is summarized by its length.
  static constexpr std::size_t kMaxLoggedLine = 512;
  // A partial line carried between reads is capped at this.
  static constexpr std::size_t kMaxPartialLine = 4096;
  // IMAP literals larger than this are shown by their length, not their
  // bytes (a 10 MB APPEND or FETCH is one line).
  static constexpr std::uint64_t kMaxShownLiteral = 256;

  // Recognize IMAP literals ({n}, {n+}, ~{n}) on both sides.
  void set_imap_literals(bool on) { imap_literals_ = on; }

  // Client bytes in any split; calls `emit` with each complete redacted line.
  template <typename Emit>
  void Input(std::string_view bytes, Emit&& emit) {
    Split(
        bytes, &partial_in_, &skip_in_, [&](std::string_view line) { emit(RedactInput(line)); },
        emit);
  }
  template <typename Emit>
  void Output(std::string_view bytes, Emit&& emit) {
    Split(
        bytes, &partial_out_, &skip_out_,
        [&](std::string_view line) {
          NoteOutput(line);
          emit(Shorten(line));
        },
        emit);
  }

  // One client line (without CRLF) as it may be logged. Updates the state.
  std::string RedactInput(std::string_view line);
  // One server line: a non-continuation answer ends a SASL exchange.
  void NoteOutput(std::string_view line);
  bool in_sasl() const { return in_sasl_; }

  static std::string Shorten(std::string_view line);

 private:
  // The size of a literal announced at the end of `line` that is too large
  // to show; 0 otherwise.
  std::uint64_t HiddenLiteral(std::string_view line) const;

  // Calls line_fn with each complete line; a large IMAP literal that
  // follows a line is skipped and summarized through `emit`.
  template <typename F, typename Emit>
  void Split(std::string_view bytes, std::string* partial, std::uint64_t* skip, F&& line_fn,
             Emit&& emit) {
    while (!bytes.empty()) {
      if (*skip > 0) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(*skip, bytes.size()));
        bytes.remove_prefix(n);
        *skip -= n;
        continue;
      }
      std::size_t nl = bytes.find('\n');
      if (nl == std::string_view::npos) {
        std::size_t room =
            kMaxPartialLine > partial->size() ? kMaxPartialLine - partial->size() : 0;
        partial->append(bytes.substr(0, room));
        return;
      }
      partial->append(bytes.substr(0, std::min(nl, kMaxPartialLine)));
      std::string_view line = *partial;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      line_fn(line);
      if (std::uint64_t hidden = HiddenLiteral(line); hidden > 0) {
        *skip = hidden;
        emit("[" + std::to_string(hidden) + " bytes of literal data]");
      }
      partial->clear();
      bytes.remove_prefix(nl + 1);
    }
  }

  bool in_sasl_ = false;
  // A LOGIN whose arguments continue after a literal: redact those lines too.
  bool in_login_literal_ = false;
  std::string partial_in_;
  std::string partial_out_;
  bool imap_literals_ = false;
  std::uint64_t skip_in_ = 0;  // literal bytes still to skip
  std::uint64_t skip_out_ = 0;
};

}  // namespace pillarbox::server
