#include "protocols/mime/lexer.h"

#include <string_view>

namespace pillarbox::mime {

namespace {

// Character classes as tables: these run for every byte of every parsed
// header value.
struct CharClasses {
  bool atext[256] = {};
  bool token[256] = {};
  constexpr CharClasses() {
    for (int c = 0; c < 256; ++c) {
      // 8-bit bytes are tolerated in both (RFC 6532 allows UTF-8).
      bool printable = c > ' ' && c != 0x7f;
      atext[c] = printable;
      token[c] = printable;
    }
    for (char c : std::string_view("()<>[]:;@\\,.\"")) atext[static_cast<unsigned char>(c)] = false;
    for (char c : std::string_view("()<>@,;:\\\"/[]?="))
      token[static_cast<unsigned char>(c)] = false;
  }
};
constexpr CharClasses kClasses;

}  // namespace

bool Lexer::IsAtext(unsigned char c) { return kClasses.atext[c]; }

bool Lexer::IsTokenChar(unsigned char c) { return kClasses.token[c]; }

void Lexer::SkipWhitespace() {
  while (!AtEnd()) {
    char c = text_[pos_];
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
    ++pos_;
  }
}

bool Lexer::SkipCfws() {
  for (;;) {
    SkipWhitespace();
    if (AtEnd() || text_[pos_] != '(') break;
    int depth = 0;
    last_comment_.clear();
    while (!AtEnd()) {
      char c = text_[pos_++];
      if (c == '\\') {
        if (!AtEnd()) last_comment_.push_back(text_[pos_++]);
        continue;
      }
      if (c == '(') {
        if (depth++ == 0) continue;
      } else if (c == ')') {
        if (--depth == 0) break;
      } else if (c == '\r' || c == '\n') {
        continue;
      }
      last_comment_.push_back(c);
    }
  }
  return !AtEnd();
}

bool Lexer::ParseToken(std::string* out) {
  std::size_t start = pos_;
  while (!AtEnd() && IsTokenChar(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  out->append(text_.substr(start, pos_ - start));
  return pos_ > start;
}

bool Lexer::ParseAtom(std::string* out) {
  std::size_t start = pos_;
  while (!AtEnd() && IsAtext(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  out->append(text_.substr(start, pos_ - start));
  return pos_ > start;
}

bool Lexer::ParseDotAtom(std::string* out) {
  bool any = false;
  for (;;) {
    if (Peek() == '"') {
      ParseQuotedString(out);
      any = true;
    } else if (ParseAtom(out)) {
      any = true;
    }
    std::size_t save = pos_;
    SkipCfws();
    if (Peek() != '.') {
      pos_ = save;
      break;
    }
    Advance();
    out->push_back('.');
    any = true;
    SkipCfws();
  }
  return any;
}

void Lexer::ParseQuotedString(std::string* out) {
  ++pos_;  // opening quote
  while (!AtEnd()) {
    char c = text_[pos_++];
    if (c == '"') return;
    if (c == '\\') {
      if (!AtEnd()) out->push_back(text_[pos_++]);
    } else if (c == '\r' || c == '\n') {
      // folding inside the quoted string: the break goes, the blank stays
    } else {
      out->push_back(c);
    }
  }
}

void Lexer::ParseDomainLiteral(std::string* out) {
  out->push_back('[');
  ++pos_;
  while (!AtEnd()) {
    char c = text_[pos_++];
    if (c == '\\') {
      if (!AtEnd()) out->push_back(text_[pos_++]);
    } else if (c == ']') {
      out->push_back(']');
      return;
    } else if (c != '\r' && c != '\n') {
      out->push_back(c);
    }
  }
  out->push_back(']');
}

}  // namespace pillarbox::mime
