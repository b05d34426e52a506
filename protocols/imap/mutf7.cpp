#include "protocols/imap/mutf7.h"

#include <cstdint>
#include <vector>

namespace pillarbox::imap {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

void AppendUtf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Decodes one UTF-8 sequence at s[i]; advances i. nullopt when invalid.
std::optional<std::uint32_t> NextUtf8(std::string_view s, std::size_t& i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  int len;
  std::uint32_t cp;
  if (c < 0x80) {
    ++i;
    return c;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2;
    cp = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    cp = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    cp = c & 0x07;
  } else {
    return std::nullopt;
  }
  if (i + len > s.size()) return std::nullopt;
  for (int k = 1; k < len; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xc0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (cc & 0x3f);
  }
  static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return std::nullopt;
  i += len;
  return cp;
}

void FlushBase64(std::string& out, const std::vector<std::uint16_t>& units) {
  out += '&';
  std::uint32_t bits = 0;
  int nbits = 0;
  for (std::uint16_t u : units) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      nbits -= 6;
      out += kAlphabet[(bits >> nbits) & 0x3f];
    }
    bits &= (1u << nbits) - 1;
  }
  if (nbits > 0) out += kAlphabet[(bits << (6 - nbits)) & 0x3f];
  out += '-';
}

}  // namespace

std::optional<std::string> Mutf7ToUtf8(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c < 0x20 || c > 0x7e) return std::nullopt;
    if (c != '&') {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    ++i;
    if (i < in.size() && in[i] == '-') {
      out += '&';
      ++i;
      continue;
    }
    std::uint32_t bits = 0;
    int nbits = 0;
    std::vector<std::uint16_t> units;
    while (i < in.size() && in[i] != '-') {
      int v = B64Value(in[i]);
      if (v < 0) return std::nullopt;
      bits = (bits << 6) | static_cast<std::uint32_t>(v);
      nbits += 6;
      if (nbits >= 16) {
        nbits -= 16;
        units.push_back(static_cast<std::uint16_t>((bits >> nbits) & 0xffff));
        bits &= (1u << nbits) - 1;
      }
      ++i;
    }
    if (i >= in.size()) return std::nullopt;  // no terminating '-'
    ++i;
    if (units.empty() || nbits >= 6 || bits != 0) return std::nullopt;
    for (std::size_t k = 0; k < units.size(); ++k) {
      std::uint32_t u = units[k];
      if (u >= 0xd800 && u <= 0xdbff) {
        if (k + 1 >= units.size()) return std::nullopt;
        std::uint32_t lo = units[++k];
        if (lo < 0xdc00 || lo > 0xdfff) return std::nullopt;
        AppendUtf8(out, 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00));
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        return std::nullopt;
      } else if (u >= 0x20 && u <= 0x7e) {
        return std::nullopt;  // printable ASCII must represent itself
      } else {
        AppendUtf8(out, u);
      }
    }
  }
  return out;
}

std::optional<std::string> Utf8ToMutf7(std::string_view in) {
  std::string out;
  std::vector<std::uint16_t> units;
  std::size_t i = 0;
  while (i < in.size()) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c >= 0x20 && c <= 0x7e) {
      if (!units.empty()) {
        FlushBase64(out, units);
        units.clear();
      }
      out += c == '&' ? std::string("&-") : std::string(1, static_cast<char>(c));
      ++i;
      continue;
    }
    auto cp = NextUtf8(in, i);
    if (!cp) return std::nullopt;
    if (*cp >= 0x10000) {
      std::uint32_t v = *cp - 0x10000;
      units.push_back(static_cast<std::uint16_t>(0xd800 + (v >> 10)));
      units.push_back(static_cast<std::uint16_t>(0xdc00 + (v & 0x3ff)));
    } else {
      units.push_back(static_cast<std::uint16_t>(*cp));
    }
  }
  if (!units.empty()) FlushBase64(out, units);
  return out;
}

}  // namespace pillarbox::imap
