// IMAP FETCH ENVELOPE, BODY and BODYSTRUCTURE (RFC 3501 sections 7.4.2 and
// 9) rendered from a parsed structure, byte for byte as Dovecot renders
// them (lib-imap/imap-envelope.c, imap-bodystructure.c):
//  - type, subtype, parameter names and values as written in the message;
//    a part without Content-Type is "text" "plain" ("charset" "us-ascii");
//    text/* parts without a charset parameter get ("charset" "us-ascii")
//    appended; message/rfc822 is written "message" "rfc822";
//  - a missing Content-Transfer-Encoding is "7bit"; sizes are octets of the
//    stored (CRLF) message; lines are shown for text/* and message/rfc822;
//  - a multipart without any body part shows one empty text/plain part;
//  - envelope strings are the raw header values (encoded words are not
//    decoded), Sender and Reply-To default to From, groups are written
//    (NIL NIL "name" NIL) ... (NIL NIL NIL NIL);
//  - strings follow imap_string.h (quoted, or literals for 8-bit content).
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "protocols/mime/message.h"

namespace pillarbox::mime {

// "(date subject from sender reply-to to cc bcc in-reply-to message-id)".
void AppendEnvelope(std::string* out, const Envelope& envelope);
std::string RenderEnvelope(const Envelope& envelope);

// The parenthesized body structure of `root` (a message). extended=false
// gives FETCH BODY, true gives BODYSTRUCTURE (with extension data).
void AppendBodyStructure(std::string* out, const Part& root, bool extended);
std::string RenderBodyStructure(const Part& root, bool extended);

}  // namespace pillarbox::mime
