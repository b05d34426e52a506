#include "protocols/imap/parser.h"

#include <algorithm>
#include <cstring>

#include "common/strings.h"

namespace pillarbox::imap {
namespace {

// Compact the input buffer once this many consumed bytes precede the unread
// ones (so a long pipelined burst does not move memory per command).
constexpr std::size_t kCompactThreshold = 16 * 1024;

bool IsCtl(unsigned char c) { return c < 0x20 || c == 0x7f; }

// RFC 3501 ATOM-CHAR: any 7-bit CHAR except atom-specials. We also accept
// 8-bit bytes in atoms (UTF-8 mailbox names sent unquoted by sloppy clients);
// the commands validate what they take.
bool IsAtomChar(unsigned char c) {
  if (IsCtl(c)) return false;
  switch (c) {
    case '(':
    case ')':
    case '{':
    case ' ':
    case '"':
      return false;
    default:
      return true;
  }
}

bool IsTagChar(unsigned char c) {
  if (IsCtl(c) || c >= 0x80) return false;
  switch (c) {
    case '(':
    case ')':
    case '{':
    case ' ':
    case '"':
    case '%':
    case '*':
    case '\\':
    case '+':
      return false;
    default:
      return true;
  }
}

struct LiteralMarker {
  std::size_t start = 0;  // index of '{' (or '~')
  std::uint64_t size = 0;
  bool sync = true;
  bool binary = false;
  bool overflow = false;
};

// Finds a literal announcement ("{n}", "{n+}", "~{n}") ending `line`,
// ignoring braces inside quoted strings.
std::optional<LiteralMarker> FindLiteralMarker(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  bool in_quote = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < line.size()) {
        ++i;
      } else if (c == '"') {
        in_quote = false;
      }
    } else if (c == '"') {
      in_quote = true;
    }
  }
  if (in_quote) return std::nullopt;
  std::size_t open = line.rfind('{');
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view inner = line.substr(open + 1, line.size() - open - 2);
  LiteralMarker m;
  if (!inner.empty() && inner.back() == '+') {
    m.sync = false;
    inner.remove_suffix(1);
  }
  if (inner.empty()) return std::nullopt;
  for (char c : inner) {
    if (c < '0' || c > '9') return std::nullopt;
    std::uint64_t next = m.size * 10 + static_cast<std::uint64_t>(c - '0');
    if (next < m.size || m.size > (UINT64_MAX / 10)) m.overflow = true;
    m.size = next;
  }
  m.start = open;
  if (open > 0 && line[open - 1] == '~') {
    m.binary = true;
    m.start = open - 1;
  }
  return m;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiUpper(c);
  return out;
}

// Walks the segments and literals of one complete command.
class Tokenizer {
 public:
  Tokenizer(std::vector<std::string>& segments, std::vector<Value>& literals, int max_depth)
      : segs_(segments), lits_(literals), max_depth_(max_depth) {}

  // Fills `cmd`; returns an error text (empty on success).
  std::string Run(Command& cmd, bool* tag_valid) {
    *tag_valid = false;
    std::string tag;
    while (!AtSegmentEnd() && Peek() != ' ') tag += Take();
    if (tag.empty()) return "Missing tag";
    for (unsigned char c : tag) {
      if (!IsTagChar(c)) return "Invalid tag";
    }
    *tag_valid = true;
    cmd.tag = tag;
    if (!Eat(' ')) return "Missing command name";
    std::string name = ReadName();
    if (name.empty()) return "Missing command name";
    cmd.name = Upper(name);
    if (cmd.name == "UID") {
      if (!Eat(' ')) return "Missing UID command name";
      name = ReadName();
      if (name.empty()) return "Missing UID command name";
      cmd.uid = true;
      cmd.name = Upper(name);
    }
    for (;;) {
      if (AtCommandEnd()) return {};
      if (!Eat(' ')) return "Expected a space between arguments";
      // Tolerate repeated and trailing spaces (some clients send them).
      while (!AtSegmentEnd() && Peek() == ' ') Take();
      if (AtCommandEnd()) return {};
      Value v;
      std::string err = ParseValue(v, 0);
      if (!err.empty()) return err;
      cmd.args.push_back(std::move(v));
    }
  }

 private:
  bool AtSegmentEnd() const { return off_ >= segs_[seg_].size(); }
  bool AtCommandEnd() const { return AtSegmentEnd() && seg_ + 1 >= segs_.size(); }
  // At the end of a segment that a literal follows.
  bool LiteralNext() const { return AtSegmentEnd() && seg_ < lits_.size(); }
  char Peek() const { return segs_[seg_][off_]; }
  char Take() { return segs_[seg_][off_++]; }
  bool Eat(char c) {
    if (AtSegmentEnd() || Peek() != c) return false;
    ++off_;
    return true;
  }
  std::string ReadName() {
    std::string s;
    while (!AtSegmentEnd() && IsAtomChar(static_cast<unsigned char>(Peek())) && Peek() != '[' &&
           Peek() != ']')
      s += Take();
    return s;
  }

  std::string ParseValue(Value& v, int depth) {
    if (LiteralNext()) {
      v = std::move(lits_[seg_]);
      v.kind = Value::Kind::kLiteral;
      ++seg_;
      off_ = 0;
      return {};
    }
    if (AtSegmentEnd()) return "Missing argument";
    char c = Peek();
    if (c == '"') return ParseQuoted(v);
    if (c == '(') {
      if (depth >= max_depth_) return "Too deeply nested lists";
      Take();
      v = Value::List({});
      for (;;) {
        if (LiteralNext()) {
          if (!v.items.empty()) return "Missing space in list";
        } else {
          if (AtSegmentEnd()) return "Missing ')'";
          if (Peek() == ')') {
            Take();
            return {};
          }
          if (!v.items.empty()) {
            if (!Eat(' ')) return "Missing space in list";
            if (!LiteralNext()) {
              if (AtSegmentEnd()) return "Missing ')'";
              if (Peek() == ')') {
                Take();
                return {};
              }
            }
          }
        }
        Value item;
        std::string err = ParseValue(item, depth + 1);
        if (!err.empty()) return err;
        v.items.push_back(std::move(item));
      }
    }
    if (c == ')') return "Unexpected ')'";
    if (c == '{') return "Literal must end the line";
    return ParseAtom(v);
  }

  std::string ParseQuoted(Value& v) {
    Take();  // '"'
    std::string s;
    for (;;) {
      if (AtSegmentEnd()) return "Missing '\"'";
      char c = Take();
      if (c == '"') break;
      if (c == '\\') {
        if (AtSegmentEnd()) return "Missing '\"'";
        char e = Take();
        if (e != '"' && e != '\\') return "Invalid escape in quoted string";
        s += e;
        continue;
      }
      if (c == '\0') return "NUL in quoted string";
      s += c;
    }
    v = Value::String(std::move(s));
    return {};
  }

  std::string ParseAtom(Value& v) {
    const std::string& seg = segs_[seg_];
    std::size_t start = off_;
    while (off_ < seg.size()) {
      unsigned char c = static_cast<unsigned char>(seg[off_]);
      if (c == '[') {
        // A section spec: everything up to the matching ']' belongs to the
        // atom, spaces and parentheses included (BODY[HEADER.FIELDS (A B)]).
        std::size_t close = seg.find(']', off_);
        if (close != std::string::npos) {
          off_ = close + 1;
          continue;
        }
      }
      if (!IsAtomChar(c)) break;
      ++off_;
    }
    if (off_ == start) return "Invalid character";
    std::string text = seg.substr(start, off_ - start);
    if (EqualsIgnoreAsciiCase(text, "NIL")) {
      v = Value{Value::Kind::kNil, std::move(text), {}, false};
    } else {
      v = Value::Atom(std::move(text));
    }
    return {};
  }

  std::vector<std::string>& segs_;
  std::vector<Value>& lits_;
  int max_depth_;
  std::size_t seg_ = 0;
  std::size_t off_ = 0;
};

}  // namespace

void Parser::Feed(std::string_view data) {
  buf_.append(data.data(), data.size());
  UpdateCharge();
}

void Parser::UpdateCharge() {
  // Accepted literals count at their announced size from the moment they
  // are accepted (a reservation), so that many connections announcing large
  // literals at once cannot all be let in.
  charge_.Set(buf_.size() + text_bytes_ + literal_bytes_);
}

std::size_t Parser::FindLf() {
  // Bytes already searched are not searched again: a line trickling in one
  // byte at a time costs O(n), not O(n^2).
  std::size_t lf = buf_.find('\n', pos_ + no_lf_);
  no_lf_ = lf == std::string::npos ? buf_.size() - pos_ : 0;
  return lf;
}

void Parser::Compact() {
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ >= kCompactThreshold) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  // A burst of pipelined commands or a large literal leaves a big buffer
  // behind: give it back once it is empty.
  if (buf_.empty() && buf_.capacity() > kCompactThreshold * 4) std::string().swap(buf_);
}

void Parser::ResetCommand() {
  segments_.clear();
  literals_.clear();
  text_bytes_ = 0;
  literal_bytes_ = 0;
  literal_left_ = 0;
  tag_.clear();
  name_.clear();
}

void Parser::Reset() {
  buf_.clear();
  pos_ = 0;
  no_lf_ = 0;
  state_ = State::kLine;
  scan_.Reset();
  ResetCommand();
  UpdateCharge();
}

std::uint64_t Parser::LiteralCap(std::string* refusal) const {
  std::size_t total_left = limits_.max_command_literals > literal_bytes_
                               ? limits_.max_command_literals - literal_bytes_
                               : 0;
  if (name_ == "APPEND") {
    if (limits_.max_append_literal <= total_left) {
      *refusal = "NO [TOOBIG] Message too large";
      return limits_.max_append_literal;
    }
    *refusal = "NO [LIMIT] Too much literal data in one command";
    return total_left;
  }
  *refusal = "NO [LIMIT] Literal too large";
  std::size_t other_left =
      limits_.max_other_literals > literal_bytes_ ? limits_.max_other_literals - literal_bytes_ : 0;
  return std::min(other_left, total_left);
}

void Parser::LearnTagAndName(std::string_view line) {
  tag_.clear();
  name_.clear();
  std::size_t sp = line.find(' ');
  if (sp == std::string_view::npos) return;  // the tag may not be complete yet
  std::string_view tag = line.substr(0, sp);
  bool valid = !tag.empty();
  for (unsigned char c : tag) valid = valid && IsTagChar(c);
  if (valid) tag_ = std::string(tag);
  std::string_view rest = line.substr(sp + 1);
  std::string_view name = rest.substr(0, rest.find(' '));
  name_ = Upper(name);
  if (name_ == "UID" && name.size() < rest.size()) {
    rest = rest.substr(name.size() + 1);
    name_ = Upper(rest.substr(0, rest.find(' ')));
  }
}

ParseEvent Parser::Error(std::string response) {
  ParseEvent ev;
  ev.kind = ParseEvent::Kind::kError;
  ev.tag = tag_;
  ev.response = std::move(response);
  ResetCommand();
  return ev;
}

void Parser::LineScanner::Step(char c) {
  // Quoted strings, as FindLiteralMarker sees them.
  if (in_quote) {
    if (escape) {
      escape = false;
    } else if (c == '\\') {
      escape = true;
    } else if (c == '"') {
      in_quote = false;
    }
  } else if (c == '"') {
    in_quote = true;
  }
  // The text after the last '{' of the line: digits, an optional '+', '}'
  // and at most the CR of the line end.
  if (c == '{') {
    *this = LineScanner{in_quote, escape};
    marker = Marker::kDigits;
    return;
  }
  switch (marker) {
    case Marker::kNone:
      return;
    case Marker::kDigits:
      if (c >= '0' && c <= '9') {
        std::uint64_t next = size * 10 + static_cast<std::uint64_t>(c - '0');
        if (next < size || size > (UINT64_MAX / 10)) overflow = true;
        size = next;
        digits = true;
      } else if (c == '+' && digits) {
        sync = false;
        marker = Marker::kPlus;
      } else if (c == '}' && digits) {
        marker = Marker::kClose;
      } else {
        marker = Marker::kNone;
      }
      return;
    case Marker::kPlus:
      marker = c == '}' ? Marker::kClose : Marker::kNone;
      return;
    case Marker::kClose:
      marker = c == '\r' ? Marker::kCloseCr : Marker::kNone;
      return;
    case Marker::kCloseCr:
      marker = Marker::kNone;
      return;
  }
}

ParseEvent Parser::Refuse(std::string response, bool sync, bool overflow, std::uint64_t size) {
  ParseEvent ev = Error(std::move(response));
  if (sync) return ev;  // the client waits for "+" and sends nothing more of it
  if (overflow || size > limits_.max_skipped_literal) {
    // Cannot count the bytes to skip (or would count them for nothing):
    // the connection cannot find the next command.
    ev.fatal = true;
    state_ = State::kFatal;
    return ev;
  }
  literal_left_ = size;
  state_ = State::kSkipLiteral;
  return ev;
}

std::optional<ParseEvent> Parser::EndSkippedLine() {
  if (scan_.HasMarker() && !scan_.sync) {
    if (scan_.overflow || scan_.size > limits_.max_skipped_literal) {
      state_ = State::kFatal;
      ParseEvent ev;
      ev.kind = ParseEvent::Kind::kError;
      ev.fatal = true;
      return ev;
    }
    literal_left_ = scan_.size;
    state_ = State::kSkipLiteral;
    return std::nullopt;
  }
  // No literal follows (or a synchronizing one, which the client will not
  // send without "+"): the refused command ends here.
  state_ = State::kLine;
  return std::nullopt;
}

ParseEvent Parser::Next() {
  ParseEvent ev = NextEvent();
  UpdateCharge();
  return ev;
}

ParseEvent Parser::NextEvent() {
  if (pending_) {
    ParseEvent ev = std::move(*pending_);
    pending_.reset();
    return ev;
  }
  for (;;) {
    switch (state_) {
      case State::kFatal:
        pos_ = buf_.size();
        no_lf_ = 0;
        Compact();
        return {};
      case State::kLiteral:
      case State::kSkipLiteral: {
        std::size_t avail = buf_.size() - pos_;
        std::size_t n = static_cast<std::size_t>(
            std::min<std::uint64_t>(literal_left_, static_cast<std::uint64_t>(avail)));
        if (state_ == State::kLiteral) literals_.back().text.append(buf_, pos_, n);
        pos_ += n;
        no_lf_ = 0;
        literal_left_ -= n;
        Compact();
        if (literal_left_ > 0) return {};
        if (state_ == State::kLiteral) {
          state_ = State::kLine;
        } else {
          state_ = State::kSkipLine;
          scan_.Reset();
        }
        continue;
      }
      case State::kSkipLine: {
        const char* begin = buf_.data() + pos_;
        std::size_t avail = buf_.size() - pos_;
        const void* found = std::memchr(begin, '\n', avail);
        std::size_t n =
            found ? static_cast<std::size_t>(static_cast<const char*>(found) - begin) : avail;
        for (std::size_t i = 0; i < n; ++i) scan_.Step(begin[i]);
        pos_ += n;
        no_lf_ = 0;
        if (!found) {
          Compact();
          return {};
        }
        ++pos_;  // the LF
        Compact();
        if (auto ev = EndSkippedLine()) return std::move(*ev);
        continue;
      }
      case State::kDiscardRawLine: {
        std::size_t lf = FindLf();
        if (lf == std::string::npos) {
          pos_ = buf_.size();
          no_lf_ = 0;
          Compact();
          return {};
        }
        pos_ = lf + 1;
        no_lf_ = 0;
        state_ = State::kLine;
        Compact();
        continue;
      }
      case State::kLine: {
        std::size_t lf = FindLf();
        if (lf == std::string::npos) {
          std::size_t pending = buf_.size() - pos_;
          std::size_t room =
              limits_.max_line_length > text_bytes_ ? limits_.max_line_length - text_bytes_ : 0;
          if (pending > room + 1) {  // +1: a CR may already be here
            if (segments_.empty()) LearnTagAndName(std::string_view(buf_).substr(pos_, room));
            // The line is skipped from its start, so that a literal it
            // announces at its end is skipped too, as when the whole line
            // had arrived at once (OnLine).
            ParseEvent ev = Error("BAD Command line too long");
            state_ = State::kSkipLine;
            scan_.Reset();
            no_lf_ = 0;
            return ev;
          }
          return {};
        }
        std::string_view line(buf_.data() + pos_, lf - pos_);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::string line_copy(line);
        pos_ = lf + 1;
        no_lf_ = 0;
        std::optional<ParseEvent> ev = OnLine(line_copy);
        Compact();
        if (ev) return std::move(*ev);
        continue;
      }
    }
  }
}

std::optional<ParseEvent> Parser::OnLine(std::string_view line) {
  if (segments_.empty()) {
    if (line.empty()) return std::nullopt;  // empty lines are ignored
    // Only what fits in the limit counts, so that the answer to an overlong
    // line does not depend on how its bytes were split.
    LearnTagAndName(line.substr(0, limits_.max_line_length));
  }
  if (text_bytes_ + line.size() > limits_.max_line_length) {
    // The same as when the line is refused before its end arrives: a
    // literal it announces is skipped.
    ParseEvent ev = Error("BAD Command line too long");
    scan_.Reset();
    for (char c : line) scan_.Step(c);
    pending_ = EndSkippedLine();
    return ev;
  }
  text_bytes_ += line.size();
  auto marker = FindLiteralMarker(line);
  if (!marker) {
    segments_.emplace_back(line);
    return Tokenize();
  }
  segments_.emplace_back(line.substr(0, marker->start));
  if (!marker->sync && !limits_.literal_plus) {
    std::string name = name_.empty() ? std::string() : " " + name_;
    return Refuse("BAD Error in IMAP command" + name +
                      ": Non-synchronizing literals not supported (no LITERAL+)",
                  false, marker->overflow, marker->size);
  }
  std::string refusal;
  std::uint64_t cap = LiteralCap(&refusal);
  if (!marker->overflow && marker->size <= cap &&
      !MemoryBudget::Global().Fits(static_cast<std::size_t>(marker->size))) {
    refusal = "NO [UNAVAILABLE] Server is short of memory, try again later";
    cap = 0;
  }
  if (marker->overflow || marker->size > cap) {
    return Refuse(std::move(refusal), marker->sync, marker->overflow, marker->size);
  }
  Value lit;
  lit.kind = Value::Kind::kLiteral;
  lit.binary = marker->binary;
  lit.text.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(marker->size, 1u << 20)));
  literals_.push_back(std::move(lit));
  literal_bytes_ += marker->size;
  literal_left_ = marker->size;
  state_ = State::kLiteral;
  if (marker->sync) {
    ParseEvent ev;
    ev.kind = ParseEvent::Kind::kContinue;
    return ev;
  }
  return std::nullopt;
}

ParseEvent Parser::Tokenize() {
  Command cmd;
  bool tag_valid = false;
  Tokenizer tok(segments_, literals_, limits_.max_list_depth);
  std::string err = tok.Run(cmd, &tag_valid);
  if (!err.empty()) {
    tag_ = tag_valid ? cmd.tag : std::string();
    std::string name = cmd.name.empty() ? std::string() : " " + cmd.name;
    return Error("BAD Error in IMAP command" + name + ": " + err);
  }
  ResetCommand();
  ParseEvent ev;
  ev.kind = ParseEvent::Kind::kCommand;
  ev.command = std::move(cmd);
  return ev;
}

std::optional<std::string> Parser::NextLine(bool* too_long) {
  *too_long = false;
  for (;;) {
    std::size_t lf = FindLf();
    if (state_ == State::kDiscardRawLine) {
      if (lf == std::string::npos) {
        pos_ = buf_.size();
        no_lf_ = 0;
        Compact();
        UpdateCharge();
        return std::nullopt;
      }
      pos_ = lf + 1;
      no_lf_ = 0;
      state_ = State::kLine;
      Compact();
      continue;
    }
    if (lf == std::string::npos) {
      if (buf_.size() - pos_ > limits_.max_line_length + 1) {
        pos_ = buf_.size();
        no_lf_ = 0;
        Compact();
        UpdateCharge();
        state_ = State::kDiscardRawLine;
        *too_long = true;
        return std::string();
      }
      return std::nullopt;
    }
    std::string line = buf_.substr(pos_, lf - pos_);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos_ = lf + 1;
    no_lf_ = 0;
    Compact();
    UpdateCharge();
    if (line.size() > limits_.max_line_length) {
      *too_long = true;
      return std::string();
    }
    return line;
  }
}

namespace {

void Render(const Value& v, std::string& out) {
  switch (v.kind) {
    case Value::Kind::kAtom:
    case Value::Kind::kNil:
      out += v.text.empty() && v.kind == Value::Kind::kNil ? "NIL" : v.text;
      break;
    case Value::Kind::kString:
    case Value::Kind::kLiteral: {
      bool quotable = v.kind == Value::Kind::kString;
      for (unsigned char c : v.text) {
        if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80) quotable = false;
      }
      if (quotable) {
        out += '"';
        for (char c : v.text) {
          if (c == '"' || c == '\\') out += '\\';
          out += c;
        }
        out += '"';
      } else {
        if (v.binary) out += '~';
        out += "{" + std::to_string(v.text.size()) + "}\r\n" + v.text;
      }
      break;
    }
    case Value::Kind::kList:
      out += '(';
      for (std::size_t i = 0; i < v.items.size(); ++i) {
        if (i) out += ' ';
        Render(v.items[i], out);
      }
      out += ')';
      break;
  }
}

}  // namespace

std::string ToString(const Value& v) {
  std::string out;
  Render(v, out);
  return out;
}

}  // namespace pillarbox::imap
