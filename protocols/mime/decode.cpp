#include "protocols/mime/decode.h"

#include <errno.h>
#include <iconv.h>

#include <cstring>
#include <vector>

#include "common/strings.h"
#include "protocols/mime/header.h"

namespace pillarbox::mime {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at s[i], or 0 if invalid.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return c == 0 ? 0 : 1;
  std::size_t len;
  std::uint32_t min;
  std::uint32_t cp;
  if ((c & 0xe0) == 0xc0) {
    len = 2, min = 0x80, cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3, min = 0x800, cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4, min = 0x10000, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

std::string NormalizeCharset(std::string_view charset) {
  std::string cs = AsciiFold(charset);
  // RFC 2231 language suffix: "utf-8*en".
  std::size_t star = cs.find('*');
  if (star != std::string::npos) cs.resize(star);
  while (!cs.empty() && (cs.back() == ' ' || cs.back() == '\t')) cs.pop_back();
  std::size_t b = 0;
  while (b < cs.size() && (cs[b] == ' ' || cs[b] == '\t')) ++b;
  return cs.substr(b);
}

// iconv descriptors are costly to open (gconv module lookup), and SEARCH
// converts the same few charsets over and over: each thread keeps the last
// few it used, failed lookups included.
class IconvCache {
 public:
  ~IconvCache() {
    for (Entry& e : entries_) {
      if (e.cd != kInvalid) iconv_close(e.cd);
    }
  }
  // A reset descriptor from `from` to UTF-8, or kInvalid if unknown.
  iconv_t Get(const char* from) {
    for (Entry& e : entries_) {
      if (e.name == from) {
        if (e.cd != kInvalid) iconv(e.cd, nullptr, nullptr, nullptr, nullptr);
        return e.cd;
      }
    }
    if (entries_.size() >= kMaxEntries) {
      if (entries_.front().cd != kInvalid) iconv_close(entries_.front().cd);
      entries_.erase(entries_.begin());
    }
    entries_.push_back(Entry{from, iconv_open("UTF-8", from)});
    return entries_.back().cd;
  }

  static inline const iconv_t kInvalid = reinterpret_cast<iconv_t>(-1);

 private:
  static constexpr std::size_t kMaxEntries = 8;
  struct Entry {
    std::string name;
    iconv_t cd;
  };
  std::vector<Entry> entries_;
};

bool Iconv(std::string_view bytes, const char* from, std::string* out) {
  thread_local IconvCache cache;
  iconv_t cd = cache.Get(from);
  if (cd == IconvCache::kInvalid) return false;
  std::string result;
  result.reserve(bytes.size() * 2);
  char buf[4096];
  char* in = const_cast<char*>(bytes.data());
  std::size_t in_left = bytes.size();
  while (in_left > 0) {
    char* o = buf;
    std::size_t o_left = sizeof(buf);
    std::size_t r = iconv(cd, &in, &in_left, &o, &o_left);
    int err = errno;
    result.append(buf, static_cast<std::size_t>(o - buf));
    if (r != static_cast<std::size_t>(-1)) continue;
    if (err == E2BIG) continue;
    // EILSEQ: an invalid byte; EINVAL: a sequence cut off at the end.
    result += kReplacement;
    if (err == EINVAL) break;
    ++in;
    --in_left;
    iconv(cd, nullptr, nullptr, nullptr, nullptr);  // reset shift state
  }
  // Flush any shift state (ISO-2022-*).
  char* o = buf;
  std::size_t o_left = sizeof(buf);
  iconv(cd, nullptr, nullptr, &o, &o_left);
  result.append(buf, static_cast<std::size_t>(o - buf));
  // iconv may pass NUL through; keep the output free of it.
  *out = SanitizeUtf8(result);
  return true;
}

// Charset labels seen in mail that glibc does not know under that name.
const char* CharsetAlias(std::string_view cs) {
  if (cs == "ks_c_5601-1987" || cs == "ks_c_5601" || cs == "x-windows-949") return "CP949";
  if (cs == "x-sjis" || cs == "shift-jis" || cs == "x-shift_jis") return "SHIFT_JIS";
  if (cs == "x-gbk" || cs == "gb2312-80") return "GBK";
  if (cs == "x-euc-jp") return "EUC-JP";
  if (cs == "iso-8859-8-i") return "ISO-8859-8";
  if (cs == "x-mac-roman" || cs == "macintosh") return "MACINTOSH";
  if (cs == "cp-850") return "CP850";
  return nullptr;
}

std::string PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}

// Q encoding of RFC 2047 4.2.
std::string DecodeQ(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '_') {
      out.push_back(' ');
    } else if (c == '=' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Charset names in encoded words: printable ASCII other than "?" (RFC 2047
// forbids more, but real charset labels only use letters, digits, "-_.:*").
bool IsCharsetChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > ' ' && u < 0x7f && c != '?';
}

// An encoded word "=?charset?E?text?=" at value[pos].
struct EncodedWord {
  std::string_view charset;
  std::string bytes;  // decoded, still in charset
  std::size_t end = 0;
};

bool ParseEncodedWord(std::string_view v, std::size_t pos, EncodedWord* w) {
  if (v.compare(pos, 2, "=?") != 0) return false;
  std::size_t cs_start = pos + 2;
  std::size_t q1 = v.find('?', cs_start);
  if (q1 == std::string_view::npos || q1 == cs_start || q1 + 2 >= v.size()) return false;
  for (std::size_t k = cs_start; k < q1; ++k) {
    if (!IsCharsetChar(v[k])) return false;
  }
  char enc = AsciiUpper(v[q1 + 1]);
  if ((enc != 'B' && enc != 'Q') || v[q1 + 2] != '?') return false;
  std::size_t text_start = q1 + 3;
  std::size_t close = v.find("?=", text_start);
  if (close == std::string_view::npos) return false;
  std::string_view text = v.substr(text_start, close - text_start);
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') return false;
  }
  w->charset = v.substr(cs_start, q1 - cs_start);
  w->bytes = enc == 'B' ? DecodeBase64(text) : DecodeQ(text);
  w->end = close + 2;
  return true;
}

}  // namespace

std::string DecodeQuotedPrintable(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    // One line (without its break) at a time, trailing blanks dropped.
    std::size_t nl = in.find('\n', i);
    std::size_t line_end = nl == std::string_view::npos ? in.size() : nl;
    std::size_t content_end = line_end;
    if (content_end > i && in[content_end - 1] == '\r') --content_end;
    while (content_end > i && (in[content_end - 1] == ' ' || in[content_end - 1] == '\t')) {
      --content_end;
    }
    bool soft_break = false;
    for (std::size_t k = i; k < content_end; ++k) {
      char c = in[k];
      if (c != '=') {
        out.push_back(c);
        continue;
      }
      if (k + 1 == content_end) {
        soft_break = true;  // "=" at the end of a line
        break;
      }
      if (k + 2 < content_end && HexValue(in[k + 1]) >= 0 && HexValue(in[k + 2]) >= 0) {
        out.push_back(static_cast<char>(HexValue(in[k + 1]) * 16 + HexValue(in[k + 2])));
        k += 2;
      } else {
        out.push_back('=');  // malformed: kept literally
      }
    }
    if (nl == std::string_view::npos) break;
    if (!soft_break) out += "\r\n";
    i = nl + 1;
  }
  return out;
}

std::string DecodeBase64(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : in) {
    if (ch == '=') break;
    int v = Base64Value(static_cast<unsigned char>(ch));
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

std::string DecodeTransferEncoding(std::string_view body, const std::optional<std::string>& cte) {
  if (cte) {
    if (EqualsIgnoreAsciiCase(*cte, "base64")) return DecodeBase64(body);
    if (EqualsIgnoreAsciiCase(*cte, "quoted-printable")) return DecodeQuotedPrintable(body);
  }
  return std::string(body);
}

std::string SanitizeUtf8(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  std::size_t i = 0;
  while (i < bytes.size()) {
    std::size_t len = Utf8SequenceLength(bytes, i);
    if (len == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(bytes.substr(i, len));
      i += len;
    }
  }
  return out;
}

std::string ConvertToUtf8(std::string_view bytes, std::string_view charset) {
  std::string cs = NormalizeCharset(charset);
  if (cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii" ||
      cs == "unknown-8bit" || cs == "x-unknown") {
    return SanitizeUtf8(bytes);
  }
  if (cs == "iso-8859-1" || cs == "latin1" || cs == "iso8859-1") {
    std::string out;
    out.reserve(bytes.size() + bytes.size() / 4);
    for (char c : bytes) {
      auto u = static_cast<unsigned char>(c);
      if (u == 0) {
        out += kReplacement;
      } else if (u < 0x80) {
        out.push_back(c);
      } else {
        out.push_back(static_cast<char>(0xc0 | (u >> 6)));
        out.push_back(static_cast<char>(0x80 | (u & 0x3f)));
      }
    }
    return out;
  }
  std::string out;
  if (Iconv(bytes, cs.c_str(), &out)) return out;
  if (const char* alias = CharsetAlias(cs); alias != nullptr && Iconv(bytes, alias, &out)) {
    return out;
  }
  return SanitizeUtf8(bytes);
}

std::string DecodeHeaderValue(std::string_view value) {
  std::string v = Unfold(value);
  std::string out;
  std::string pending;          // decoded bytes of adjacent encoded words ...
  std::string pending_charset;  // ... all in this charset
  auto flush = [&] {
    if (!pending.empty() || !pending_charset.empty())
      out += ConvertToUtf8(pending, pending_charset);
    pending.clear();
    pending_charset.clear();
  };
  std::size_t i = 0;
  std::size_t literal_start = 0;
  bool last_was_word = false;
  while (i < v.size()) {
    std::size_t pos = v.find("=?", i);
    if (pos == std::string::npos) break;
    EncodedWord w;
    if (!ParseEncodedWord(v, pos, &w)) {
      i = pos + 2;
      continue;
    }
    std::string_view between(v.data() + literal_start, pos - literal_start);
    bool only_blanks = between.find_first_not_of(" \t") == std::string_view::npos;
    if (!(last_was_word && only_blanks)) {
      flush();
      out += SanitizeUtf8(between);
    }
    std::string cs = NormalizeCharset(w.charset);
    if (cs != pending_charset) flush();
    pending_charset = cs;
    pending += w.bytes;
    last_was_word = true;
    i = literal_start = w.end;
  }
  flush();
  out += SanitizeUtf8(std::string_view(v).substr(literal_start));
  return out;
}

std::optional<std::string> DecodedParam(const std::vector<Param>& params, std::string_view name) {
  for (const Param& p : params) {
    if (p.name.size() == name.size() + 1 && p.name.back() == '*' &&
        EqualsIgnoreAsciiCase(std::string_view(p.name).substr(0, name.size()), name)) {
      std::string_view v = p.value;
      std::size_t q1 = v.find('\'');
      std::size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
      if (q2 == std::string_view::npos) return ConvertToUtf8(PercentDecode(v), "us-ascii");
      return ConvertToUtf8(PercentDecode(v.substr(q2 + 1)), v.substr(0, q1));
    }
  }
  for (const Param& p : params) {
    if (EqualsIgnoreAsciiCase(p.name, name)) return DecodeHeaderValue(p.value);
  }
  return std::nullopt;
}

std::string PartSearchText(std::string_view raw, const Part& part) {
  if (part.IsMultipart() || part.IsMessageRfc822() || !part.IsText()) return {};
  std::string body =
      DecodeTransferEncoding(Slice(raw, part.body_offset, part.body_size), part.encoding);
  const std::string* charset = part.FindParam("charset");
  return ConvertToUtf8(body, charset != nullptr ? std::string_view(*charset) : "us-ascii");
}

namespace {

void CollectText(std::string_view raw, const Part& part, std::string* out) {
  if (part.IsMultipart() || part.IsMessageRfc822()) {
    for (const Part& c : part.children) CollectText(raw, c, out);
    return;
  }
  if (!part.IsText()) return;
  *out += PartSearchText(raw, part);
  out->push_back('\n');
}

}  // namespace

std::string MessageSearchText(std::string_view raw, const Part& root) {
  std::string out;
  CollectText(raw, root, &out);
  return out;
}

std::vector<std::string> DecodedHeaderValues(std::string_view raw, const Part& part,
                                             std::string_view name) {
  std::vector<std::string> out;
  std::string_view header = Slice(raw, part.header_offset, part.header_size);
  HeaderBlock block = ParseHeader(header, 0, header.size(), header.size() + 1, SIZE_MAX);
  for (const HeaderField& f : block.fields) {
    if (f.has_colon && EqualsIgnoreAsciiCase(f.name, name)) {
      out.push_back(DecodeHeaderValue(f.raw_value));
    }
  }
  return out;
}

}  // namespace pillarbox::mime

namespace pillarbox::mime {

Utf8Converter::Utf8Converter(std::string_view charset) {
  std::string cs = NormalizeCharset(charset);
  if (cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii" ||
      cs == "unknown-8bit" || cs == "x-unknown") {
    return;
  }
  if (cs == "iso-8859-1" || cs == "latin1" || cs == "iso8859-1") {
    mode_ = Mode::kLatin1;
    return;
  }
  iconv_t cd = iconv_open("UTF-8", cs.c_str());
  if (cd == IconvCache::kInvalid) {
    if (const char* alias = CharsetAlias(cs); alias != nullptr) cd = iconv_open("UTF-8", alias);
  }
  if (cd == IconvCache::kInvalid) return;  // unknown: taken as UTF-8, as ConvertToUtf8 does
  mode_ = Mode::kIconv;
  cd_ = cd;
}

Utf8Converter::~Utf8Converter() {
  if (cd_ != nullptr) iconv_close(static_cast<iconv_t>(cd_));
}

std::string Utf8Converter::Convert(std::string_view bytes, bool last) {
  std::string in = std::move(carry_);
  carry_.clear();
  in.append(bytes);
  switch (mode_) {
    case Mode::kUtf8: {
      std::size_t cut = in.size();
      if (!last) {
        // A lead byte in the last three whose sequence runs past the end
        // waits for the next piece (decisions before it never depend on it).
        for (std::size_t k = 0; k < 3 && k < in.size(); ++k) {
          std::size_t j = in.size() - 1 - k;
          auto c = static_cast<unsigned char>(in[j]);
          if ((c & 0xc0) == 0x80) continue;
          std::size_t need = (c & 0xe0) == 0xc0   ? 2
                             : (c & 0xf0) == 0xe0 ? 3
                             : (c & 0xf8) == 0xf0 ? 4
                                                  : 1;
          if (j + need > in.size()) cut = j;
          break;
        }
      }
      carry_ = in.substr(cut);
      return SanitizeUtf8(std::string_view(in).substr(0, cut));
    }
    case Mode::kLatin1:
      return ConvertToUtf8(in, "iso-8859-1");
    case Mode::kIconv:
      break;
  }
  auto cd = static_cast<iconv_t>(cd_);
  std::string result;
  result.reserve(in.size() * 2);
  char buf[4096];
  char* ip = in.data();
  std::size_t in_left = in.size();
  while (in_left > 0) {
    char* o = buf;
    std::size_t o_left = sizeof(buf);
    std::size_t r = iconv(cd, &ip, &in_left, &o, &o_left);
    int err = errno;
    result.append(buf, static_cast<std::size_t>(o - buf));
    if (r != static_cast<std::size_t>(-1)) continue;
    if (err == E2BIG) continue;
    if (err == EINVAL) {
      // A character cut off at the end: complete it from the next piece.
      if (!last) {
        carry_.assign(ip, in_left);
      } else {
        result += kReplacement;
      }
      break;
    }
    result += kReplacement;  // EILSEQ, as Iconv() does
    ++ip;
    --in_left;
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
  }
  if (last) {
    char* o = buf;
    std::size_t o_left = sizeof(buf);
    iconv(cd, nullptr, nullptr, &o, &o_left);
    result.append(buf, static_cast<std::size_t>(o - buf));
    iconv(cd, nullptr, nullptr, nullptr, nullptr);
  }
  return SanitizeUtf8(result);
}

}  // namespace pillarbox::mime
