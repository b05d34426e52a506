#include "protocols/mime/address.h"

#include "protocols/mime/lexer.h"

namespace pillarbox::mime {

namespace {

constexpr char kMissingMailbox[] = "MISSING_MAILBOX";
constexpr char kMissingDomain[] = "MISSING_DOMAIN";
constexpr char kSyntaxError[] = "SYNTAX_ERROR";
// Addresses kept per header field; a From: with more is abuse, not mail.
constexpr std::size_t kMaxAddresses = 10000;

bool IsAtextOrDot(char c) { return c == '.' || Lexer::IsAtext(static_cast<unsigned char>(c)); }

// phrase = 1*word / obs-phrase: words (atoms with dots, quoted strings)
// joined by one space; encoded words are kept as they are.
bool ParsePhrase(Lexer* lex, std::string* out) {
  bool any = false;
  for (;;) {
    char c = lex->Peek();
    if (c == '"') {
      if (any) out->push_back(' ');
      lex->ParseQuotedString(out);
    } else if (!lex->AtEnd() && IsAtextOrDot(c)) {
      if (any) out->push_back(' ');
      while (!lex->AtEnd() && IsAtextOrDot(lex->Peek())) {
        out->push_back(lex->Peek());
        lex->Advance();
      }
    } else {
      break;
    }
    any = true;
    lex->SkipCfws();
  }
  return any;
}

bool ParseLocalPart(Lexer* lex, std::string* out) {
  if (lex->Peek() == '"') {
    lex->ParseQuotedString(out);
    lex->SkipCfws();
    // obs-local-part: "a".b
    while (lex->Peek() == '.') {
      lex->Advance();
      out->push_back('.');
      lex->SkipCfws();
      if (lex->Peek() == '"') {
        lex->ParseQuotedString(out);
      } else {
        lex->ParseAtom(out);
      }
      lex->SkipCfws();
    }
    return true;
  }
  bool ok = lex->ParseDotAtom(out);
  lex->SkipCfws();
  return ok;
}

// REQUIRES: Peek() == '@'.
bool ParseDomain(Lexer* lex, std::string* out) {
  lex->Advance();
  lex->SkipCfws();
  bool ok;
  if (lex->Peek() == '[') {
    lex->ParseDomainLiteral(out);
    ok = true;
  } else {
    ok = lex->ParseDotAtom(out);
  }
  lex->SkipCfws();
  return ok;
}

// "<" [route ":"] local-part ["@" domain] ">"; REQUIRES: Peek() == '<'.
bool ParseAngleAddr(Lexer* lex, Address* addr) {
  lex->Advance();
  lex->SkipCfws();
  if (lex->Peek() == '@') {
    std::string route;
    while (lex->Peek() == '@') {
      if (!route.empty()) route.push_back(',');
      route.push_back('@');
      if (!ParseDomain(lex, &route)) return false;
      while (lex->Peek() == ',') {
        lex->Advance();
        lex->SkipCfws();
      }
    }
    if (lex->Peek() != ':') {
      addr->route = "INVALID_ROUTE";
      return false;
    }
    lex->Advance();
    lex->SkipCfws();
    addr->route = std::move(route);
  }
  if (lex->Peek() == '>') {
    // "<>": the null reverse path.
    lex->Advance();
    lex->SkipCfws();
    return true;
  }
  std::string local;
  if (!ParseLocalPart(lex, &local)) return false;
  addr->mailbox = std::move(local);
  if (lex->Peek() == '@') {
    std::string domain;
    if (!ParseDomain(lex, &domain)) return false;
    addr->host = std::move(domain);
  }
  if (lex->Peek() != '>') return false;
  lex->Advance();
  lex->SkipCfws();
  return true;
}

void FillMissing(Address* addr) {
  if (!addr->mailbox) addr->mailbox = kMissingMailbox;
  if (!addr->host) addr->host = kMissingDomain;
}

// mailbox = name-addr / addr-spec. Always yields an address; false when the
// lexer did not move (nothing parsable here).
bool ParseMailbox(Lexer* lex, AddressList* out) {
  std::size_t start = lex->pos();
  Address addr;
  std::string phrase;
  ParsePhrase(lex, &phrase);
  if (lex->Peek() == '<') {
    if (!phrase.empty()) addr.name = std::move(phrase);
    if (!ParseAngleAddr(lex, &addr)) {
      addr.host = kSyntaxError;
      // Resynchronize after the broken angle address.
      while (!lex->AtEnd() && lex->Peek() != '>' && lex->Peek() != ',') lex->Advance();
      if (lex->Peek() == '>') lex->Advance();
      lex->SkipCfws();
    }
  } else {
    lex->set_pos(start);
    lex->clear_last_comment();
    std::string local;
    if (ParseLocalPart(lex, &local)) addr.mailbox = std::move(local);
    if (lex->Peek() == '@') {
      std::string domain;
      if (ParseDomain(lex, &domain)) addr.host = std::move(domain);
    }
    if (!lex->last_comment().empty()) addr.name = lex->last_comment();
  }
  bool moved = lex->pos() != start;
  FillMissing(&addr);
  out->push_back(std::move(addr));
  return moved;
}

}  // namespace

AddressList ParseAddressList(std::string_view value) {
  AddressList out;
  Lexer lex(value);
  if (!lex.SkipCfws()) return out;
  while (!lex.AtEnd() && out.size() < kMaxAddresses) {
    // address = mailbox / group
    std::size_t start = lex.pos();
    std::string phrase;
    bool group = ParsePhrase(&lex, &phrase) && lex.Peek() == ':';
    if (group) {
      lex.Advance();
      lex.SkipCfws();
      Address begin;
      begin.kind = Address::Kind::kGroupStart;
      begin.mailbox = std::move(phrase);
      out.push_back(std::move(begin));
      while (!lex.AtEnd() && lex.Peek() != ';' && out.size() < kMaxAddresses) {
        if (lex.Peek() == ',') {
          lex.Advance();
          lex.SkipCfws();
          continue;
        }
        if (!ParseMailbox(&lex, &out)) break;
        if (lex.Peek() != ',' && lex.Peek() != ';') break;
      }
      Address end;
      end.kind = Address::Kind::kGroupEnd;
      out.push_back(std::move(end));
      if (lex.Peek() != ';') break;  // broken group: stop here, as Dovecot does
      lex.Advance();
      lex.SkipCfws();
    } else {
      lex.set_pos(start);
      if (!ParseMailbox(&lex, &out)) {
        out.pop_back();  // nothing parsable at this position
        break;
      }
    }
    if (lex.Peek() != ',') break;
    while (lex.Peek() == ',') {
      lex.Advance();
      lex.SkipCfws();
    }
  }
  return out;
}

}  // namespace pillarbox::mime
