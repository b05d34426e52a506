// The parsed form of IMAP command arguments (RFC 3501 section 9 grammar):
// atoms, quoted strings, literals, NIL, and parenthesized lists. The
// incremental parser (parser.h) produces these; command handlers and the
// FETCH/SEARCH engines consume them.
//
// Thread-safety: values.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pillarbox::imap {

struct Value {
  enum class Kind {
    kAtom,     // also numbers, sequence sets, flags, BODY[...]<...> section specs
    kString,   // quoted string, with escapes removed
    kLiteral,  // {n}, {n+} or ~{n} literal; `binary` set for ~{n}
    kNil,      // the atom NIL
    kList,     // ( ... )
  };
  Kind kind = Kind::kAtom;
  std::string text;          // atom, string or literal bytes
  std::vector<Value> items;  // for kList
  bool binary = false;

  // NIL is an atom too (RFC 3501 9: "NIL" is an atom that some grammar
  // positions read as nil): where an atom or astring is expected, NIL is
  // just the word. Callers for which nil means something ask IsNil() first.
  bool IsAtom() const { return kind == Kind::kAtom || kind == Kind::kNil; }
  bool IsString() const { return kind == Kind::kString || kind == Kind::kLiteral; }
  // Atom (NIL included), quoted string or literal: an IMAP "astring".
  bool IsAString() const { return IsAtom() || IsString(); }
  bool IsList() const { return kind == Kind::kList; }
  bool IsNil() const { return kind == Kind::kNil; }

  // Case-insensitive comparison of an atom with `word` (ASCII).
  bool AtomIs(std::string_view word) const;

  static Value Atom(std::string s) { return Value{Kind::kAtom, std::move(s), {}, false}; }
  static Value String(std::string s) { return Value{Kind::kString, std::move(s), {}, false}; }
  static Value List(std::vector<Value> v) { return Value{Kind::kList, {}, std::move(v), false}; }
};

// One complete command: tag, name (upper-cased) and its arguments. For UID
// commands, `uid` is set and `name` is the command after UID ("FETCH").
//
// Note on FETCH section specs: the parser keeps "BODY[HEADER.FIELDS (A B)]<0.10>"
// together as ONE atom, including the parenthesized header list and the
// partial range, because RFC 3501's grammar makes it one token.
struct Command {
  std::string tag;
  std::string name;
  bool uid = false;
  std::vector<Value> args;

  // Tag, name and UID without the arguments: what a completion keeps to
  // finish the command later.
  Command Header() const {
    Command h;
    h.tag = tag;
    h.name = name;
    h.uid = uid;
    return h;
  }
};

}  // namespace pillarbox::imap
