#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

namespace pillarbox::log {
namespace {

// The message text with control bytes written as \xNN: one record is one
// line whatever a value carried. Call sites already pass client-supplied
// values through LogSafe() (common/strings.h); this is the net under them.
class SafeMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*time*/,
              spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : msg.payload) {
      auto b = static_cast<unsigned char>(c);
      if (b >= 0x20 && b != 0x7f) {
        dest.push_back(c);
      } else {
        const char esc[4] = {'\\', 'x', kHex[b >> 4], kHex[b & 0xf]};
        dest.append(esc, esc + 4);
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<SafeMessage>();
  }
};

}  // namespace

Status Init(std::string_view level) {
  spdlog::level::level_enum lvl;
  if (level == "trace") {
    lvl = spdlog::level::trace;
  } else if (level == "debug") {
    lvl = spdlog::level::debug;
  } else if (level == "info") {
    lvl = spdlog::level::info;
  } else if (level == "warn") {
    lvl = spdlog::level::warn;
  } else if (level == "error") {
    lvl = spdlog::level::err;
  } else {
    return Status::InvalidArgument("expected trace, debug, info, warn or error");
  }
  // Init may run more than once (the CLI, tests): reuse the logger, since
  // spdlog refuses to register a second one under the same name.
  auto logger = spdlog::get("pillarbox");
  if (!logger) {
    logger = spdlog::stderr_color_mt("pillarbox");
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    formatter->add_flag<SafeMessage>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %*");
    logger->set_formatter(std::move(formatter));
  }
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

}  // namespace pillarbox::log
