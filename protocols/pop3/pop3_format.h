// Pure helpers of the POP3 session: command-line splitting, message numbers,
// dot-stuffing of multi-line responses (RFC 1939 3) and the extent of a TOP
// response. No store, no output: testable byte by byte.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pillarbox::pop3 {

struct CommandLine {
  std::string name;                    // upper-cased keyword ("RETR")
  std::string_view rest;               // everything after the keyword and one space
  std::vector<std::string_view> args;  // `rest` split on runs of spaces
};

// Splits "retr 1" into {"RETR", "1", {"1"}}. The views point into `line`.
CommandLine SplitCommand(std::string_view line);

// A message number or line count: 1..10 decimal digits, no sign, fitting in
// 32 bits. nullopt otherwise.
std::optional<std::uint32_t> ParseNumber(std::string_view text);

// Dot-stuffs a message given in pieces (RFC 1939 3: a line that starts with
// "." gets one more) and terminates it with ".\r\n", first completing the
// last line with CRLF when the message does not end with one.
class DotStuffer {
 public:
  // Appends the stuffed form of the next piece of the message to `out`.
  void Append(std::string_view piece, std::string& out);
  // Appends the terminator (and the missing CRLF, if any) to `out`.
  void Finish(std::string& out);

 private:
  bool at_line_start_ = true;
  bool any_ = false;
  char last_ = 0;
};

// The number of octets of `message` that TOP with `lines` body lines sends:
// the header, the blank line that ends it, and up to `lines` body lines. A
// message without a blank line is all header and is sent whole.
std::size_t TopExtent(std::string_view message, std::uint64_t lines);

}  // namespace pillarbox::pop3
