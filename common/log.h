// Logging: spdlog to stderr. Use the LOG_* macros; they compile to nothing
// costly when the level is off.
//
// Thread-safety: spdlog's stderr sink is thread-safe (the _mt variant).
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace pillarbox::log {

// "trace" | "debug" | "info" | "warn" | "error". Returns InvalidArgument otherwise.
Status Init(std::string_view level);

}  // namespace pillarbox::log

#define LOG_TRACE(...) SPDLOG_TRACE(__VA_ARGS__)
#define LOG_DEBUG(...) spdlog::debug(__VA_ARGS__)
#define LOG_INFO(...) spdlog::info(__VA_ARGS__)
#define LOG_WARN(...) spdlog::warn(__VA_ARGS__)
#define LOG_ERROR(...) spdlog::error(__VA_ARGS__)
