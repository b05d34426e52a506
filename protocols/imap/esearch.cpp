#include "protocols/imap/esearch.h"

#include <algorithm>

#include "protocols/imap/imap_format.h"

namespace pillarbox::imap {
namespace {

// Parses an nz-number (1..4294967295) that makes up all of `text`.
bool ParseNzNumber(std::string_view text, std::int64_t* out) {
  if (text.empty() || text.size() > 10 || text[0] == '0') return false;
  std::int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > 0xffffffffll) return false;
  *out = v;
  return true;
}

}  // namespace

std::string PartialRange::ToString() const {
  return std::to_string(first) + ":" + std::to_string(last);
}

Result<PartialRange> ParsePartialRange(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos) return Status::InvalidArgument("PARTIAL range broken");
  std::string_view a = text.substr(0, colon);
  std::string_view b = text.substr(colon + 1);
  const bool neg_a = !a.empty() && a[0] == '-';
  const bool neg_b = !b.empty() && b[0] == '-';
  if (neg_a != neg_b) return Status::InvalidArgument("PARTIAL range broken");
  if (neg_a) {
    a.remove_prefix(1);
    b.remove_prefix(1);
  }
  PartialRange r;
  if (!ParseNzNumber(a, &r.first) || !ParseNzNumber(b, &r.last)) {
    return Status::InvalidArgument("PARTIAL range broken");
  }
  if (r.first > r.last) std::swap(r.first, r.last);
  if (neg_a) {
    r.first = -r.first;
    r.last = -r.last;
  }
  return r;
}

std::pair<std::size_t, std::size_t> PartialWindow(const PartialRange& range, std::size_t size) {
  const auto n = static_cast<std::int64_t>(size);
  std::int64_t begin = 0;
  std::int64_t end = 0;  // exclusive
  if (range.first > 0) {
    begin = range.first - 1;
    end = std::min(range.last, n);
  } else {
    // -1 is index n-1; -last is the lowest position.
    begin = std::max<std::int64_t>(0, n + range.last);
    end = n + range.first + 1;
  }
  if (begin >= end || begin >= n || end <= 0) return {0, 0};
  return {static_cast<std::size_t>(begin), static_cast<std::size_t>(end)};
}

Result<SearchReturn> ParseSearchReturn(const std::vector<Value>& args, std::size_t* pos,
                                       const SearchReturnAllowed& allowed) {
  SearchReturn ret;
  if (!allowed.esearch || *pos >= args.size() || !args[*pos].AtomIs("RETURN")) return ret;
  if (*pos + 1 >= args.size() || !args[*pos + 1].IsList()) {
    return Status::InvalidArgument("RETURN needs a list of options");
  }
  const std::vector<Value>& opts = args[*pos + 1].items;
  ret.esearch = true;
  for (std::size_t i = 0; i < opts.size(); ++i) {
    const Value& o = opts[i];
    if (!o.IsAtom()) return Status::InvalidArgument("SEARCH return options contain non-atoms");
    if (o.AtomIs("MIN")) {
      ret.min = true;
    } else if (o.AtomIs("MAX")) {
      ret.max = true;
    } else if (o.AtomIs("ALL")) {
      ret.all = true;
    } else if (o.AtomIs("COUNT")) {
      ret.count = true;
    } else if (o.AtomIs("UPDATE") && allowed.context) {
      ret.update = true;
    } else if (o.AtomIs("CONTEXT") && allowed.context) {
      ret.context = true;
    } else if (o.AtomIs("SAVE") && allowed.save) {
      ret.save = true;
    } else if (o.AtomIs("PARTIAL") && allowed.partial) {
      if (ret.partial) return Status::InvalidArgument("PARTIAL can be used only once");
      if (i + 1 >= opts.size() || !opts[i + 1].IsAtom()) {
        return Status::InvalidArgument("PARTIAL range missing");
      }
      auto range = ParsePartialRange(opts[++i].text);
      if (!range.ok()) return range.status();
      ret.partial = *range;
    } else {
      return Status::InvalidArgument("Unknown SEARCH return option " + o.text);
    }
  }
  if (ret.partial && ret.all) return Status::InvalidArgument("PARTIAL conflicts with ALL");
  // RFC 4731: "RETURN ()" is "RETURN (ALL)". SAVE alone is not empty: it
  // asks for no response at all.
  if (opts.empty()) ret.all = true;
  *pos += 2;
  return ret;
}

std::string FormatOrderedSet(const std::vector<std::uint32_t>& numbers) {
  std::string out;
  std::size_t i = 0;
  while (i < numbers.size()) {
    const std::uint32_t lo = numbers[i];
    std::uint32_t hi = lo;
    ++i;
    while (i < numbers.size() && hi != 0xffffffffu && numbers[i] == hi + 1) hi = numbers[i++];
    if (!out.empty()) out += ',';
    out += std::to_string(lo);
    if (hi != lo) {
      out += ':';
      out += std::to_string(hi);
    }
  }
  return out;
}

std::string FormatEsearch(std::string_view tag, bool uid, const std::vector<std::uint32_t>& result,
                          const SearchReturn& ret, std::optional<std::uint64_t> modseq) {
  std::string out = "* ESEARCH (TAG ";
  AppendQuoted(out, tag);
  out += ')';
  if (uid) out += " UID";
  if (!result.empty()) {
    if (ret.min) out += " MIN " + std::to_string(result.front());
    if (ret.max) out += " MAX " + std::to_string(result.back());
    if (ret.all) out += " ALL " + FormatOrderedSet(result);
  }
  if (ret.partial) {
    out += " PARTIAL (" + ret.partial->ToString() + ' ';
    auto [begin, end] = PartialWindow(*ret.partial, result.size());
    if (begin == end) {
      out += "NIL";
    } else {
      out += FormatOrderedSet(
          std::vector<std::uint32_t>(result.begin() + static_cast<std::ptrdiff_t>(begin),
                                     result.begin() + static_cast<std::ptrdiff_t>(end)));
    }
    out += ')';
  }
  if (ret.count) out += " COUNT " + std::to_string(result.size());
  if (modseq) out += " MODSEQ " + std::to_string(*modseq);
  out += "\r\n";
  return out;
}

std::optional<std::uint64_t> EsearchModSeq(const std::vector<std::uint64_t>& modseqs,
                                           const SearchReturn& ret) {
  if (modseqs.empty()) return std::nullopt;
  const bool whole = ret.all || ret.count || ret.partial.has_value() || (!ret.min && !ret.max);
  if (whole) return *std::max_element(modseqs.begin(), modseqs.end());
  if (ret.min && ret.max) return std::max(modseqs.front(), modseqs.back());
  return ret.min ? modseqs.front() : modseqs.back();
}

std::vector<std::size_t> SavedIndexes(std::size_t size, const SearchReturn& ret) {
  std::vector<std::size_t> out;
  if (size == 0) return out;
  const bool whole = ret.all || ret.count || (!ret.min && !ret.max && !ret.partial);
  if (whole) {
    out.resize(size);
    for (std::size_t i = 0; i < size; ++i) out[i] = i;
    return out;
  }
  if (ret.min) out.push_back(0);
  if (ret.partial) {
    auto [begin, end] = PartialWindow(*ret.partial, size);
    for (std::size_t i = begin; i < end; ++i) out.push_back(i);
  }
  if (ret.max) out.push_back(size - 1);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace pillarbox::imap
