// A small RFC 5322 / RFC 2045 tokenizer over an (unfolded or folded) header
// value: comments and whitespace, MIME tokens, atoms, quoted strings and
// domain literals. Used by the Content-* and address parsers.
//
// Tolerant: 8-bit bytes count as atom/token characters; an unterminated
// quoted string or comment ends at the end of the value.
//
// Thread-safety: a value; not shared.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace pillarbox::mime {

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return AtEnd() ? '\0' : text_[pos_]; }
  void Advance() {
    if (!AtEnd()) ++pos_;
  }
  std::size_t pos() const { return pos_; }
  void set_pos(std::size_t pos) { pos_ = pos; }
  std::string_view text() const { return text_; }
  std::string_view Rest() const { return AtEnd() ? std::string_view() : text_.substr(pos_); }

  // Skips blanks, line breaks and (nested) comments. Returns true if the
  // lexer is not at the end afterwards. The text of the last comment skipped
  // is kept in last_comment() (RFC 822 style "user@host (Full Name)").
  bool SkipCfws();
  const std::string& last_comment() const { return last_comment_; }
  void clear_last_comment() { last_comment_.clear(); }
  // Blanks and line breaks only.
  void SkipWhitespace();

  // A MIME token (RFC 2045 5.1): CHARs other than SPACE, CTLs and tspecials.
  // Appends to `out`; false (nothing consumed) if there is none.
  bool ParseToken(std::string* out);
  // An atom (RFC 5322 3.2.3 atext). Appends to `out`.
  bool ParseAtom(std::string* out);
  // A dot-atom: atoms joined by "." (CFWS around the dots allowed, as
  // obs-local-part); lenient about empty atoms ("a..b"). Appends to `out`.
  bool ParseDotAtom(std::string* out);
  // REQUIRES: Peek() == '"'. Appends the content without quotes, with
  // quoted-pairs resolved and line breaks removed.
  void ParseQuotedString(std::string* out);
  // REQUIRES: Peek() == '['. Appends "[...]" with line breaks removed.
  void ParseDomainLiteral(std::string* out);

  static bool IsAtext(unsigned char c);
  static bool IsTokenChar(unsigned char c);

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::string last_comment_;
};

}  // namespace pillarbox::mime
