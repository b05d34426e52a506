// MIME parameter lists (RFC 2045 5.1) with RFC 2231 continuations joined the
// way Dovecot does it, so that BODYSTRUCTURE shows what Dovecot shows:
//   name*0="a"; name*1="b"        -> name = "ab"
//   name*0*=utf-8''%C3; name*1*=%A4 -> name* = "utf-8''%C3%A4"
// (the charset decoding of "name*" values is DecodedParam() in decode.h).
// Segments with a gap in their numbering are kept unjoined ("name*1").
//
// Thread-safety: pure functions.
#pragma once

#include <vector>

#include "protocols/mime/lexer.h"
#include "protocols/mime/message.h"

namespace pillarbox::mime {

// Parses `; name=value` pairs from the lexer's position to the end. Broken
// pairs are skipped up to the next ";".
std::vector<Param> ParseParams(Lexer* lex);

}  // namespace pillarbox::mime
