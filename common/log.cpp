#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace pillarbox::log {

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
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

}  // namespace pillarbox::log
