// The incremental IMAP command parser (RFC 3501 section 9 grammar, with
// LITERAL+ non-synchronizing literals of RFC 7888 and binary ~{n} literals of
// RFC 3516).
//
// Bytes go in with Feed() in any split; Next() returns one event at a time:
// need more input, "send a continuation" (a synchronizing literal was
// announced and accepted), a complete Command, or an error. The parser never
// writes: the session turns kContinue into "+ OK" and errors into responses.
//
// Limits are checked before anything is buffered: a command line longer than
// ParserLimits::max_line_length is refused; a literal larger than its cap (or
// than what the process-wide memory budget can take) is refused
// (synchronizing: without a continuation, the client sends nothing;
// non-synchronizing: its bytes are read and dropped, since the client sends
// them anyway). The error is reported at once, and the rest of the refused
// command is skipped in one state (kSkipLine/kSkipLiteral) that only looks
// at one byte at a time: wherever the reads fall, the same bytes are skipped,
// including further non-synchronizing literals announced at line ends, and
// nothing is buffered. The parser resynchronizes at the next command and the
// connection stays usable. A non-synchronizing literal too large to skip
// (over ParserLimits::max_skipped_literal, or a size that does not fit 64
// bits) cannot be resynchronized after: that error is `fatal` and the
// session ends the connection.
//
// Raw lines (AUTHENTICATE responses, IDLE's "DONE") are read with NextLine().
//
// Thread-safety: one parser per session, owner thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/memory_budget.h"
#include "protocols/imap/value.h"

namespace pillarbox::imap {

struct ParserLimits {
  // Bytes of command text (not counting literals) in one command.
  std::size_t max_line_length = 8 * 1024;
  // One literal of APPEND (the message).
  std::size_t max_append_literal = 50u * 1024 * 1024;
  // All literals of any other command together (passwords, names, search
  // strings): small, since they are buffered whole.
  std::size_t max_other_literals = 64 * 1024;
  // All literals of one command together, APPEND included: one command
  // cannot hold more than this however many literals it announces.
  std::size_t max_command_literals = 50u * 1024 * 1024 + 64 * 1024;
  // A refused non-synchronizing literal up to this size is read and
  // dropped; a larger one ends the connection (skipping it would keep the
  // connection busy for nothing).
  std::uint64_t max_skipped_literal = 1ull << 30;
  // Nesting of parenthesized lists.
  int max_list_depth = 32;
  // Non-synchronizing literals {n+} are accepted (LITERAL+ is offered).
  // When false (a capability profile without LITERAL+) one is a protocol
  // error: the command gets BAD and its literal bytes, which the client
  // sends anyway, are read and dropped with the rest of the command.
  bool literal_plus = true;
};

struct ParseEvent {
  enum class Kind {
    kNeedMore,  // feed more bytes
    kContinue,  // a synchronizing literal was accepted: send "+ OK"
    kCommand,   // `command` is complete
    kError,     // `tag` (empty: untagged) and `response` ("BAD ...", "NO [TOOBIG] ...")
  };
  Kind kind = Kind::kNeedMore;
  Command command;
  std::string tag;
  std::string response;
  // kError only: the parser cannot find the next command after this one
  // (a literal too large to skip). The session answers, says BYE, closes.
  bool fatal = false;
};

class Parser {
 public:
  explicit Parser(ParserLimits limits = {}) : limits_(limits) {}

  void set_limits(const ParserLimits& limits) { limits_ = limits; }
  const ParserLimits& limits() const { return limits_; }

  // Appends client bytes to the input buffer.
  void Feed(std::string_view data);
  // The next event; call until it returns kNeedMore.
  ParseEvent Next();

  // Reads one raw line (CRLF or LF removed) instead of a command. Returns
  // nullopt when no complete line is buffered yet. A line longer than the
  // limit is cut off: `*too_long` is set and the rest is dropped.
  // REQUIRES: no command is partially parsed (between commands).
  std::optional<std::string> NextLine(bool* too_long);

  // Drops everything buffered and any partial command (after STARTTLS).
  void Reset();

  // Bytes buffered and not yet consumed.
  std::size_t buffered() const { return buf_.size() - pos_; }
  // Bytes held for the client (input buffer and the current command's
  // literals): what this parser counts against the memory budget.
  std::size_t held() const { return charge_.bytes(); }
  // True while a command is partially received.
  bool InCommand() const { return !segments_.empty() || state_ != State::kLine; }

 private:
  enum class State {
    kLine,            // reading a command line
    kLiteral,         // reading an accepted literal
    kSkipLine,        // skipping the rest of a refused command's line
    kSkipLiteral,     // skipping a literal announced by a refused command
    kDiscardRawLine,  // NextLine: dropping the rest of an overlong raw line
    kFatal,           // after a fatal error: nothing more is parsed
  };

  // Follows one line of a refused command byte by byte, to learn whether it
  // ends with a literal announcement, with the rules of FindLiteralMarker
  // (a "{" inside a quoted string does not count), without buffering it.
  struct LineScanner {
    enum class Marker { kNone, kDigits, kPlus, kClose, kCloseCr };
    void Reset() { *this = LineScanner(); }
    void Step(char c);
    // At the line end: a literal announcement ends the line.
    bool HasMarker() const {
      return !in_quote && (marker == Marker::kClose || marker == Marker::kCloseCr);
    }
    bool in_quote = false;
    bool escape = false;
    Marker marker = Marker::kNone;
    bool digits = false;    // at least one digit after '{'
    bool sync = true;       // no '+'
    bool overflow = false;  // the size does not fit 64 bits
    std::uint64_t size = 0;
  };

  ParseEvent NextEvent();
  void UpdateCharge();
  // After a refused command: skip what the client still sends of it.
  ParseEvent Refuse(std::string response, bool sync, bool overflow, std::uint64_t size);
  // The refused command's line ended (scan_ saw all of it).
  std::optional<ParseEvent> EndSkippedLine();
  void Compact();
  std::size_t FindLf();
  void ResetCommand();
  // Called with a complete line of the current command (without CRLF).
  std::optional<ParseEvent> OnLine(std::string_view line);
  ParseEvent Tokenize();
  ParseEvent Error(std::string response);
  // The largest literal the current command may still announce, and the
  // answer when one is larger.
  std::uint64_t LiteralCap(std::string* refusal) const;
  void LearnTagAndName(std::string_view first_line);

  ParserLimits limits_;
  std::string buf_;
  std::size_t pos_ = 0;
  std::size_t no_lf_ = 0;  // bytes after pos_ known to hold no '\n'
  State state_ = State::kLine;
  // An event to return before reading on: the fatal end of an over-long
  // line that arrived whole, sent after its BAD as when it arrives in parts.
  std::optional<ParseEvent> pending_;

  // The command being received: text segments with a literal between each
  // two consecutive segments.
  std::vector<std::string> segments_;
  std::vector<Value> literals_;
  std::size_t text_bytes_ = 0;
  std::size_t literal_bytes_ = 0;
  std::uint64_t literal_left_ = 0;  // kLiteral / kDiscardLiteral
  std::string tag_;                 // learned from the first line (may be empty)
  std::string name_;                // upper-cased command name ("UID FETCH": "FETCH")
  LineScanner scan_;                // kSkipLine
  MemoryCharge charge_;             // buf_ and the literals held
};

// Renders a Value back into IMAP syntax (for logs and tests).
std::string ToString(const Value& v);

}  // namespace pillarbox::imap
