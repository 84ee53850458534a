#pragma once

#include <string>

#include <spdlog/spdlog.h>

#include "core/result.h"

namespace pvekit::core {

enum class LogFormat { Text, Json };

struct LogOptions {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  LogFormat format = LogFormat::Text;
  // Empty: stderr. Otherwise the log is appended to this file; when the file
  // cannot be opened, logging falls back to stderr and a warning says why.
  std::string file;
  std::string program = "pvekit";
};

Result<LogFormat> parse_log_format(const std::string& text);

// Installs the process-wide spdlog default logger. Call spdlog::info(...) and
// friends afterwards. Never log secrets.
Status init_logging(const LogOptions& options);

}  // namespace pvekit::core
