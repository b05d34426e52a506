// IMAP string syntax (RFC 3501 section 4.3, 9) for values taken from
// messages, written the way Dovecot writes them (lib-imap/imap-quote.c):
// a quoted string with \" and \\ escapes, or a literal {n}\r\n... when the
// value holds CR, LF or 8-bit bytes, or more than four quoted-specials
// (where a literal is shorter). NUL bytes cannot be sent in either form and
// are dropped.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pillarbox::mime {

// Appends `s` as an IMAP string.
void AppendImapString(std::string* out, std::string_view s);
// NIL when absent, else AppendImapString.
void AppendImapNString(std::string* out, const std::optional<std::string>& s);
// Like AppendImapNString, but CR and LF are removed first (a space is put
// in where a line break was not followed by a blank), so header values stay
// quoted strings (Dovecot's imap_append_nstring_nolf).
void AppendImapNStringNoLf(std::string* out, const std::optional<std::string>& s);

}  // namespace pillarbox::mime
