// libFuzzer target for the configuration loader: arbitrary bytes as a TOML
// file must be accepted or refused with a Status, never crash; an accepted
// configuration dumped and parsed again must dump the same (DumpConfig
// writes every key, so this checks that what the loader accepts it can
// also write back). Short inputs also go through the value parsers that
// the loader and the per-user settings use.
//
// Build: cmake -DPILLARBOX_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ ...
// Run:   ./config_fuzz -max_len=4096 corpus_dir (seeds in
//        tests/fuzz/corpus/config_fuzz)
#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.h"

using pillarbox::Result;
using namespace pillarbox::config;  // NOLINT: a fuzz entry point, not a header

namespace {

// The loader must not depend on the fuzzer's own environment.
std::optional<std::string> NoEnv(const char*) { return std::nullopt; }

// Inputs up to this size also go through every value parser.
constexpr std::size_t kMaxValueFuzz = 256;

void Check(bool ok, const char* what, std::string_view detail) {
  if (ok) return;
  std::fprintf(stderr, "fuzz check failed: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  Result<Config> parsed = ParseConfig(text, "fuzz.toml", NoEnv);
  if (parsed.ok()) {
    std::string dump = DumpConfig(*parsed);
    Result<Config> again = ParseConfig(dump, "dump.toml", NoEnv);
    Check(again.ok(), "a dumped configuration does not parse",
          again.ok() ? dump : again.status().ToString() + "\n" + dump);
    Check(DumpConfig(*again) == dump, "dump, parse, dump differs", dump);
  } else {
    Check(!parsed.status().message().empty(), "an error without a message", text);
  }

  if (size <= kMaxValueFuzz) {
    (void)ParseDuration(text);
    (void)ParseDurationMs(text);
    (void)ParseSize(text);
    (void)ParseListenAddress(text, true);
    (void)ParseExpireRule(text);
    auto mode = ParsePop3DeleteMode(text);
    if (mode.ok()) {
      auto back = ParsePop3DeleteMode(FormatPop3DeleteMode(*mode));
      Check(back.ok() && back->mode == mode->mode && back->move_target == mode->move_target,
            "delete mode does not round-trip", text);
    }
    // "key=value": a per-user setting, validated then applied.
    if (auto eq = text.find('='); eq != std::string_view::npos) {
      std::string_view key = text.substr(0, eq), value = text.substr(eq + 1);
      if (ValidateUserSetting(key, value).ok()) {
        auto canonical = CanonicalUserSetting(key, value);
        Check(canonical.ok(), "a valid setting has no canonical form", text);
        Config c;
        Check(ApplyUserSetting(c, key, *canonical).ok(), "a valid setting does not apply", text);
      }
    }
  }
  return 0;
}
