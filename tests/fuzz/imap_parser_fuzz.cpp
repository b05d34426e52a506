// libFuzzer target for the IMAP command parser: arbitrary bytes, fed whole
// and again in pieces whose sizes come from the input, must produce the same
// events and never crash, hang or exceed the parser's limits.
//
// Build: cmake -DPILLARBOX_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...
// Run:   ./imap_parser_fuzz -max_len=16384
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/imap/parser.h"

using pillarbox::imap::ParseEvent;
using pillarbox::imap::Parser;
using pillarbox::imap::ParserLimits;

namespace {

std::string Describe(const ParseEvent& e) {
  std::string s = std::to_string(static_cast<int>(e.kind)) + "|" + e.tag + "|" + e.response;
  if (e.kind == ParseEvent::Kind::kCommand) {
    s += "|" + e.command.tag + "|" + e.command.name + "|" + std::to_string(e.command.args.size());
  }
  return s;
}

std::vector<std::string> Run(std::string_view data, std::size_t step) {
  ParserLimits limits;
  limits.max_line_length = 512;
  limits.max_append_literal = 4096;
  limits.max_other_literals = 1024;
  Parser parser(limits);
  std::vector<std::string> events;
  for (std::size_t i = 0; i < data.size(); i += step) {
    parser.Feed(data.substr(i, step));
    for (;;) {
      ParseEvent e = parser.Next();
      if (e.kind == ParseEvent::Kind::kNeedMore) break;
      events.push_back(Describe(e));
      if (events.size() > 100000) std::abort();  // no event without input
    }
  }
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t step = 1 + data[0] % 7;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (Run(input, input.size() + 1) != Run(input, step)) std::abort();
  return 0;
}
