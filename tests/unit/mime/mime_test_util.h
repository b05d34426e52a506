// Helpers for the MIME unit tests: messages written with "\n" in the source
// are turned into the CRLF form the store keeps; fixtures are read from
// tests/fixtures/mime.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

namespace pillarbox::mime::testing {

inline std::string Crlf(std::string_view lf) {
  std::string out;
  out.reserve(lf.size() + lf.size() / 16);
  for (char c : lf) {
    if (c == '\n') out.push_back('\r');
    out.push_back(c);
  }
  return out;
}

// The fixture's bytes as stored: LF line endings become CRLF.
inline std::string Fixture(std::string_view name) {
  std::string path =
      std::string(PILLARBOX_SOURCE_DIR) + "/tests/fixtures/mime/" + std::string(name);
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return Crlf(ss.str());
}

}  // namespace pillarbox::mime::testing
