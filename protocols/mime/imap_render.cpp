#include "protocols/mime/imap_render.h"

#include "common/strings.h"
#include "protocols/mime/imap_string.h"

namespace pillarbox::mime {

namespace {

constexpr char kDefaultCharsetParam[] = "\"charset\" \"us-ascii\"";
constexpr char kEmptyBody[] =
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)";
constexpr char kEmptyBodyStructure[] =
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)";

void AppendAddresses(std::string* out, const AddressList& list) {
  if (list.empty()) {
    *out += "NIL";
    return;
  }
  out->push_back('(');
  for (const Address& a : list) {
    out->push_back('(');
    AppendImapNStringNoLf(out, a.name);
    out->push_back(' ');
    AppendImapNStringNoLf(out, a.route);
    out->push_back(' ');
    AppendImapNStringNoLf(out, a.mailbox);
    out->push_back(' ');
    AppendImapNStringNoLf(out, a.host);
    out->push_back(')');
  }
  out->push_back(')');
}

void AppendParams(std::string* out, const std::vector<Param>& params, bool default_charset) {
  if (params.empty() && !default_charset) {
    *out += "NIL";
    return;
  }
  out->push_back('(');
  bool seen_charset = false;
  bool first = true;
  for (const Param& p : params) {
    if (!first) out->push_back(' ');
    first = false;
    if (EqualsIgnoreAsciiCase(p.name, "charset")) seen_charset = true;
    AppendImapString(out, p.name);
    out->push_back(' ');
    AppendImapString(out, p.value);
  }
  if (default_charset && !seen_charset) {
    if (!first) out->push_back(' ');
    *out += kDefaultCharsetParam;
  }
  out->push_back(')');
}

// disposition, language, location: shared by single parts and multiparts.
void AppendCommonExtension(std::string* out, const Part& part) {
  out->push_back(' ');
  if (!part.disposition) {
    *out += "NIL";
  } else {
    out->push_back('(');
    AppendImapString(out, *part.disposition);
    out->push_back(' ');
    AppendParams(out, part.disposition_params, false);
    out->push_back(')');
  }
  out->push_back(' ');
  if (part.language.empty()) {
    *out += "NIL";
  } else {
    out->push_back('(');
    for (std::size_t i = 0; i < part.language.size(); ++i) {
      if (i > 0) out->push_back(' ');
      AppendImapString(out, part.language[i]);
    }
    out->push_back(')');
  }
  out->push_back(' ');
  AppendImapNStringNoLf(out, part.location);
}

// The contents of one body (without the enclosing parentheses).
void AppendPart(std::string* out, const Part& part, bool extended) {
  if (part.IsMultipart()) {
    if (part.children.empty()) {
      // Not allowed by the grammar: show one empty text/plain part.
      *out += extended ? kEmptyBodyStructure : kEmptyBody;
    } else {
      for (const Part& child : part.children) {
        out->push_back('(');
        AppendPart(out, child, extended);
        out->push_back(')');
      }
    }
    out->push_back(' ');
    AppendImapString(out, part.subtype.empty() ? std::string_view("x-unknown") : part.subtype);
    if (!extended) return;
    out->push_back(' ');
    AppendParams(out, part.params, false);
    AppendCommonExtension(out, part);
    return;
  }

  bool text = false;
  bool rfc822 = part.IsMessageRfc822();
  if (rfc822) {
    *out += "\"message\" \"rfc822\"";
  } else if (part.type.empty()) {
    text = true;
    *out += "\"text\" \"plain\"";
  } else {
    text = EqualsIgnoreAsciiCase(part.type, "text");
    AppendImapString(out, part.type);
    out->push_back(' ');
    if (!part.subtype.empty()) {
      AppendImapString(out, part.subtype);
    } else {
      *out += text ? "\"plain\"" : "\"unknown\"";
    }
  }
  out->push_back(' ');
  AppendParams(out, part.params, text);
  out->push_back(' ');
  AppendImapNStringNoLf(out, part.id);
  out->push_back(' ');
  AppendImapNStringNoLf(out, part.description);
  out->push_back(' ');
  if (part.encoding) {
    AppendImapString(out, *part.encoding);
  } else {
    *out += "\"7bit\"";
  }
  out->push_back(' ');
  *out += std::to_string(part.body_size);
  if (text) {
    out->push_back(' ');
    *out += std::to_string(part.body_lines);
  } else if (rfc822) {
    const Part& inner = part.children[0];
    out->push_back(' ');
    if (inner.envelope) {
      AppendEnvelope(out, *inner.envelope);
    } else {
      AppendEnvelope(out, Envelope{});
    }
    *out += " (";
    AppendPart(out, inner, extended);
    *out += ") ";
    *out += std::to_string(part.body_lines);
  }
  if (!extended) return;
  out->push_back(' ');
  AppendImapNStringNoLf(out, part.md5);
  AppendCommonExtension(out, part);
}

}  // namespace

void AppendEnvelope(std::string* out, const Envelope& e) {
  out->push_back('(');
  AppendImapNStringNoLf(out, e.date);
  out->push_back(' ');
  AppendImapNStringNoLf(out, e.subject);
  out->push_back(' ');
  AppendAddresses(out, e.from);
  out->push_back(' ');
  AppendAddresses(out, e.sender.empty() ? e.from : e.sender);
  out->push_back(' ');
  AppendAddresses(out, e.reply_to.empty() ? e.from : e.reply_to);
  out->push_back(' ');
  AppendAddresses(out, e.to);
  out->push_back(' ');
  AppendAddresses(out, e.cc);
  out->push_back(' ');
  AppendAddresses(out, e.bcc);
  out->push_back(' ');
  AppendImapNStringNoLf(out, e.in_reply_to);
  out->push_back(' ');
  AppendImapNStringNoLf(out, e.message_id);
  out->push_back(')');
}

std::string RenderEnvelope(const Envelope& envelope) {
  std::string out;
  AppendEnvelope(&out, envelope);
  return out;
}

void AppendBodyStructure(std::string* out, const Part& root, bool extended) {
  out->push_back('(');
  AppendPart(out, root, extended);
  out->push_back(')');
}

std::string RenderBodyStructure(const Part& root, bool extended) {
  std::string out;
  AppendBodyStructure(&out, root, extended);
  return out;
}

}  // namespace pillarbox::mime
