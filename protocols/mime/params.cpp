#include "protocols/mime/params.h"

#include <algorithm>
#include <string>

#include "common/strings.h"

namespace pillarbox::mime {

namespace {

struct Segment {
  std::string key;  // without the "*n*" suffix
  std::string value;
  unsigned index = 0;
  bool extended = false;
};

void SkipToSemicolon(Lexer* lex) {
  while (!lex->AtEnd() && lex->Peek() != ';') {
    if (lex->Peek() == '"') {
      std::string ignored;
      lex->ParseQuotedString(&ignored);
    } else {
      lex->Advance();
    }
  }
}

// Splits "key*3*" into its parts; false when `name` is not an RFC 2231 name.
bool SplitRfc2231Name(const std::string& name, Segment* seg) {
  std::size_t star = name.find('*');
  if (star == std::string::npos) return false;
  if (star + 1 == name.size()) {
    // "key*": a single extended value.
    seg->key = name.substr(0, star);
    seg->index = 0;
    seg->extended = true;
    return true;
  }
  std::size_t p = star + 1;
  unsigned index = 0;
  std::size_t digits = 0;
  while (p < name.size() && name[p] >= '0' && name[p] <= '9') {
    if (index < 100000) index = index * 10 + static_cast<unsigned>(name[p] - '0');
    ++p;
    ++digits;
  }
  bool extended = false;
  if (p < name.size() && name[p] == '*') {
    extended = true;
    ++p;
  }
  if (p != name.size() || digits == 0) return false;
  seg->key = name.substr(0, star);
  seg->index = index;
  seg->extended = extended;
  return true;
}

}  // namespace

std::vector<Param> ParseParams(Lexer* lex) {
  std::vector<Param> plain;
  std::vector<Segment> segments;
  for (;;) {
    lex->SkipCfws();
    if (lex->AtEnd()) break;
    if (lex->Peek() != ';') {
      // Garbage between parameters: skip to the next one.
      SkipToSemicolon(lex);
      continue;
    }
    lex->Advance();
    lex->SkipCfws();
    std::string name;
    if (!lex->ParseToken(&name)) continue;
    lex->SkipCfws();
    if (lex->Peek() != '=') {
      SkipToSemicolon(lex);
      continue;
    }
    lex->Advance();
    lex->SkipCfws();
    std::string value;
    if (lex->Peek() == '"') {
      lex->ParseQuotedString(&value);
    } else if (lex->Peek() == '=') {
      // Broken but common: an unquoted encoded word (name==?utf-8?b?...?=).
      while (!lex->AtEnd() && lex->Peek() != ';' && lex->Peek() != ' ' && lex->Peek() != '\t' &&
             lex->Peek() != '\r' && lex->Peek() != '\n') {
        value.push_back(lex->Peek());
        lex->Advance();
      }
    } else {
      lex->ParseToken(&value);
    }
    Segment seg;
    if (SplitRfc2231Name(name, &seg)) {
      seg.value = std::move(value);
      segments.push_back(std::move(seg));
    } else {
      plain.push_back(Param{std::move(name), std::move(value)});
    }
  }
  if (segments.empty()) return plain;

  std::stable_sort(segments.begin(), segments.end(), [](const Segment& a, const Segment& b) {
    int c = CompareIgnoreAsciiCase(a.key, b.key);
    if (c != 0) return c < 0;
    return a.index < b.index;
  });
  for (std::size_t i = 0; i < segments.size();) {
    std::size_t j = i;
    bool contiguous = true, any_extended = false;
    unsigned expected = 0;
    for (; j < segments.size() && EqualsIgnoreAsciiCase(segments[j].key, segments[i].key); ++j) {
      if (segments[j].index != expected) contiguous = false;
      if (segments[j].extended) any_extended = true;
      ++expected;
    }
    if (!contiguous) {
      for (std::size_t k = i; k < j; ++k) {
        std::string name = segments[k].key + "*" + std::to_string(segments[k].index);
        if (segments[k].extended) name += "*";
        plain.push_back(Param{std::move(name), segments[k].value});
      }
    } else {
      std::string value;
      // A plain first segment of an extended value has no charset'lang'.
      if (any_extended && !segments[i].extended) value = "''";
      for (std::size_t k = i; k < j; ++k) {
        if (any_extended && !segments[k].extended) {
          // Plain segments of an extended value: escape "%" so that the
          // joined value decodes back to the same text.
          for (char c : segments[k].value) {
            if (c == '%') {
              value += "%25";
            } else {
              value.push_back(c);
            }
          }
        } else {
          value += segments[k].value;
        }
      }
      std::string name = segments[i].key;
      if (any_extended) name += "*";
      plain.push_back(Param{std::move(name), std::move(value)});
    }
    i = j;
  }
  return plain;
}

}  // namespace pillarbox::mime
