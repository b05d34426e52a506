#include "protocols/mime/sort_keys.h"

#include <vector>

#include "protocols/mime/address.h"
#include "protocols/mime/date.h"
#include "protocols/mime/decode.h"
#include "protocols/mime/header.h"
#include "protocols/mime/message.h"

namespace pillarbox::mime {
namespace {

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (AsciiLower(s[i]) != prefix[i]) return false;
  }
  return true;
}

bool EndsWithNoCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && StartsWithNoCase(s.substr(s.size() - suffix.size()), suffix);
}

// Length of the subj-blob ("[" *BLOBCHAR "]" *WSP) at the start of s, 0
// when there is none.
std::size_t BlobLength(std::string_view s) {
  if (s.empty() || s[0] != '[') return 0;
  std::size_t i = 1;
  while (i < s.size() && s[i] != '[' && s[i] != ']') ++i;
  if (i >= s.size() || s[i] != ']') return 0;
  ++i;
  while (i < s.size() && s[i] == ' ') ++i;
  return i;
}

// Length of the subj-leader "*subj-blob subj-refwd" at the start of s, 0
// when there is none. subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":".
std::size_t RefwdLeaderLength(std::string_view s) {
  std::size_t i = 0;
  while (std::size_t blob = BlobLength(s.substr(i))) i += blob;
  std::string_view rest = s.substr(i);
  if (StartsWithNoCase(rest, "re")) {
    i += 2;
  } else if (StartsWithNoCase(rest, "fwd")) {
    i += 3;
  } else if (StartsWithNoCase(rest, "fw")) {
    i += 2;
  } else {
    return 0;
  }
  while (i < s.size() && s[i] == ' ') ++i;
  i += BlobLength(s.substr(i));
  if (i < s.size() && s[i] == ':') return i + 1;
  return 0;
}

void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

std::uint32_t UpperCase(std::uint32_t cp) {
  if (cp >= 'a' && cp <= 'z') return cp - 32;
  if (cp < 0x80) return cp;
  if (cp >= 0xe0 && cp <= 0xfe && cp != 0xf7) return cp - 0x20;
  if (cp == 0xff) return 0x178;
  if (cp >= 0x100 && cp <= 0x17f) {
    if (cp == 0x17f) return 'S';
    bool odd = (cp & 1) != 0;
    if ((cp <= 0x137 || (cp >= 0x14a && cp <= 0x177)) && odd) return cp - 1;
    if (((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17e)) && !odd) return cp - 1;
    return cp;
  }
  if (cp >= 0x3b1 && cp <= 0x3c9) return cp == 0x3c2 ? 0x3a3 : cp - 0x20;
  if (cp >= 0x430 && cp <= 0x44f) return cp - 0x20;
  if (cp >= 0x450 && cp <= 0x45f) return cp - 0x50;
  return cp;
}

// Decompositions of the Latin-1 capitals U+00C0..U+00DF: base letter and
// combining mark (U+03xx), or 0 when the letter has none.
struct Decomposition {
  char base;
  std::uint16_t mark;
};
constexpr Decomposition kLatin1Decomposition[32] = {
    {'A', 0x300}, {'A', 0x301}, {'A', 0x302}, {'A', 0x303}, {'A', 0x308}, {'A', 0x30a},
    {0, 0},       {'C', 0x327}, {'E', 0x300}, {'E', 0x301}, {'E', 0x302}, {'E', 0x308},
    {'I', 0x300}, {'I', 0x301}, {'I', 0x302}, {'I', 0x308}, {0, 0},       {'N', 0x303},
    {'O', 0x300}, {'O', 0x301}, {'O', 0x302}, {'O', 0x303}, {'O', 0x308}, {0, 0},
    {0, 0},       {'U', 0x300}, {'U', 0x301}, {'U', 0x302}, {'U', 0x308}, {'Y', 0x301},
    {0, 0},       {0, 0},
};

// Decodes one UTF-8 sequence at s[*i]; an invalid byte is returned as
// itself with `valid` false.
std::uint32_t NextCodePoint(std::string_view s, std::size_t* i, bool* valid) {
  auto b = static_cast<unsigned char>(s[*i]);
  *valid = true;
  int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  if (len == 0 || *i + len > s.size()) {
    *valid = b < 0x80;
    ++*i;
    return b;
  }
  std::uint32_t cp = len == 1 ? b : len == 2 ? (b & 0x1f) : len == 3 ? (b & 0x0f) : (b & 0x07);
  for (int k = 1; k < len; ++k) {
    auto c = static_cast<unsigned char>(s[*i + k]);
    if ((c & 0xc0) != 0x80) {
      *valid = false;
      ++*i;
      return b;
    }
    cp = (cp << 6) | (c & 0x3f);
  }
  *i += len;
  return cp;
}

void AppendStr(std::string_view s, std::string* out) {
  std::size_t n = s.size();
  do {
    std::uint8_t byte = n & 0x7f;
    n >>= 7;
    if (n != 0) byte |= 0x80;
    out->push_back(static_cast<char>(byte));
  } while (n != 0);
  out->append(s);
}

bool ReadStr(std::string_view* in, std::string_view* out) {
  std::uint64_t n = 0;
  for (int shift = 0;; shift += 7) {
    if (in->empty() || shift > 28) return false;
    auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    n |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) break;
  }
  if (n > in->size()) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

// Cuts at a UTF-8 character boundary.
std::string Cut(std::string s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;
  s.resize(cut);
  return s;
}

// The msg-ids ("<...>") of a field value in order, white space removed.
std::vector<std::string> MessageIds(std::string_view value) {
  std::vector<std::string> ids;
  std::size_t i = 0;
  while (true) {
    std::size_t open = value.find('<', i);
    if (open == std::string_view::npos) break;
    std::size_t close = value.find('>', open + 1);
    if (close == std::string_view::npos) break;
    std::string id;
    for (char c : value.substr(open + 1, close - open - 1)) {
      if (c != ' ' && c != '\t' && c != '\r' && c != '\n') id.push_back(c);
    }
    // A '<' inside starts over (a stray bracket before the real id).
    std::size_t inner = id.rfind('<');
    if (inner != std::string::npos) id.erase(0, inner + 1);
    if (!id.empty()) ids.push_back(Cut(std::move(id), kMaxMessageIdBytes));
    i = close + 1;
  }
  return ids;
}

struct FirstAddress {
  std::string mailbox;  // local part (or group name)
  std::string display;  // decoded display name, else addr-spec
};

std::optional<FirstAddress> FirstAddressOf(const HeaderField* field) {
  if (field == nullptr) return std::nullopt;
  AddressList list = ParseAddressList(field->raw_value);
  if (list.empty()) return std::nullopt;
  const Address& a = list.front();
  FirstAddress out;
  if (a.mailbox) out.mailbox = *a.mailbox;
  if (a.name) {
    std::string name = DecodeHeaderValue(*a.name);
    std::size_t b = name.find_first_not_of(" \t");
    if (b != std::string::npos) out.display = name.substr(b, name.find_last_not_of(" \t") - b + 1);
  }
  if (out.display.empty()) {
    out.display = out.mailbox;
    if (a.kind == Address::Kind::kMailbox && a.host) out.display += "@" + *a.host;
  }
  return out;
}

}  // namespace

std::string BaseSubject(std::string_view decoded, bool* reply) {
  bool is_reply = false;
  // Step 1: white space runs (tabs, line breaks) to one space.
  std::string s;
  s.reserve(decoded.size());
  for (char c : decoded) {
    bool ws = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (ws) {
      if (s.empty() || s.back() != ' ') s.push_back(' ');
    } else {
      s.push_back(c);
    }
  }
  while (true) {
    // Step 2: trailers "(fwd)" and white space.
    while (!s.empty()) {
      if (s.back() == ' ') {
        s.pop_back();
      } else if (EndsWithNoCase(s, "(fwd)")) {
        s.resize(s.size() - 5);
        is_reply = true;
      } else {
        break;
      }
    }
    // Steps 3 to 5: leaders, and blobs that do not make up the whole rest.
    while (true) {
      if (!s.empty() && s[0] == ' ') {
        s.erase(0, 1);
        continue;
      }
      if (std::size_t n = RefwdLeaderLength(s)) {
        s.erase(0, n);
        is_reply = true;
        continue;
      }
      std::size_t blob = BlobLength(s);
      if (blob != 0 && blob < s.size()) {
        s.erase(0, blob);
        continue;
      }
      break;
    }
    // Step 6: "[fwd: subject]".
    if (StartsWithNoCase(s, "[fwd:") && s.back() == ']') {
      s = s.substr(5, s.size() - 6);
      is_reply = true;
      continue;
    }
    break;
  }
  if (reply != nullptr) *reply = is_reply;
  return s;
}

std::string SortFold(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  std::size_t i = 0;
  while (i < utf8.size()) {
    auto b = static_cast<unsigned char>(utf8[i]);
    if (b < 0x80) {
      out.push_back(b >= 'a' && b <= 'z' ? static_cast<char>(b - 32) : static_cast<char>(b));
      ++i;
      continue;
    }
    std::size_t start = i;
    bool valid = false;
    std::uint32_t cp = NextCodePoint(utf8, &i, &valid);
    if (!valid) {
      out.append(utf8.substr(start, i - start));
      continue;
    }
    cp = UpperCase(cp);
    if (cp == 0x178) {  // Ÿ
      out.push_back('Y');
      AppendUtf8(0x308, &out);
    } else if (cp >= 0xc0 && cp <= 0xdf && kLatin1Decomposition[cp - 0xc0].base != 0) {
      out.push_back(kLatin1Decomposition[cp - 0xc0].base);
      AppendUtf8(kLatin1Decomposition[cp - 0xc0].mark, &out);
    } else if (cp < 0x10000) {
      AppendUtf8(cp, &out);
    } else {
      out.append(utf8.substr(start, i - start));
    }
  }
  return out;
}

SortKeys ComputeSortKeys(std::string_view raw) {
  // The header only, with the same limits as the MIME parser.
  HeaderBlock header = ParseHeader(raw, 0, raw.size(), kMaxHeaderBytes, kMaxHeaderFields);
  const auto& fields = header.fields;
  SortKeys keys;
  if (const HeaderField* f = FindField(fields, "Subject")) {
    keys.subject =
        Cut(SortFold(BaseSubject(DecodeHeaderValue(f->raw_value), &keys.reply)), kMaxSortKeyBytes);
  }
  if (const HeaderField* f = FindField(fields, "Date")) {
    if (auto date = ParseRfc5322Date(Unfold(f->raw_value))) {
      keys.has_date = true;
      keys.date = date->utc;
    }
  }
  if (auto a = FirstAddressOf(FindField(fields, "From"))) {
    keys.from = Cut(SortFold(a->mailbox), kMaxSortKeyBytes);
    keys.display_from = Cut(SortFold(a->display), kMaxSortKeyBytes);
  }
  if (auto a = FirstAddressOf(FindField(fields, "To"))) {
    keys.to = Cut(SortFold(a->mailbox), kMaxSortKeyBytes);
    keys.display_to = Cut(SortFold(a->display), kMaxSortKeyBytes);
  }
  if (auto a = FirstAddressOf(FindField(fields, "Cc"))) {
    keys.cc = Cut(SortFold(a->mailbox), kMaxSortKeyBytes);
  }
  if (const HeaderField* f = FindField(fields, "Message-ID")) {
    auto ids = MessageIds(f->raw_value);
    if (!ids.empty()) keys.message_id = std::move(ids.front());
  }
  std::vector<std::string> refs;
  if (const HeaderField* f = FindField(fields, "References")) refs = MessageIds(f->raw_value);
  if (refs.empty()) {
    if (const HeaderField* f = FindField(fields, "In-Reply-To")) {
      auto ids = MessageIds(f->raw_value);
      if (!ids.empty()) refs.push_back(std::move(ids.front()));
    }
  }
  std::size_t first = refs.size() > kMaxSortReferences ? refs.size() - kMaxSortReferences : 0;
  for (std::size_t i = first; i < refs.size(); ++i) {
    if (!keys.references.empty()) keys.references.push_back(' ');
    keys.references += refs[i];
  }
  return keys;
}

std::string EncodeSortKeys(const SortKeys& keys) {
  std::string out;
  out.push_back(static_cast<char>(kSortKeysVersion));
  out.push_back(static_cast<char>((keys.has_date ? 1 : 0) | (keys.reply ? 2 : 0)));
  auto date = static_cast<std::uint64_t>(keys.date);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(date >> shift));
  for (const std::string* s : {&keys.subject, &keys.from, &keys.to, &keys.cc, &keys.display_from,
                               &keys.display_to, &keys.message_id, &keys.references}) {
    AppendStr(*s, &out);
  }
  return out;
}

std::optional<SortKeysView> DecodeSortKeys(std::string_view in) {
  if (in.size() < 10 || static_cast<std::uint8_t>(in[0]) != kSortKeysVersion) return std::nullopt;
  SortKeysView v;
  auto flags = static_cast<std::uint8_t>(in[1]);
  v.has_date = (flags & 1) != 0;
  v.reply = (flags & 2) != 0;
  std::uint64_t date = 0;
  for (int k = 0; k < 8; ++k) date = (date << 8) | static_cast<unsigned char>(in[2 + k]);
  v.date = static_cast<std::int64_t>(date);
  in.remove_prefix(10);
  for (std::string_view* s : {&v.subject, &v.from, &v.to, &v.cc, &v.display_from, &v.display_to,
                              &v.message_id, &v.references}) {
    if (!ReadStr(&in, s)) return std::nullopt;
  }
  return v;
}

}  // namespace pillarbox::mime
