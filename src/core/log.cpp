#include "core/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ansicolor_sink.h>

#include <nlohmann/json.hpp>

namespace pvekit::core {
namespace {

// The message as a JSON string literal, so JSON log lines stay valid whatever
// the message contains.
class JsonMessageFlag : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string text(msg.payload.data(), msg.payload.size());
    std::string quoted = nlohmann::json(text).dump(-1, ' ', false,
                                                   nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data(), quoted.data() + quoted.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonMessageFlag>();
  }
};

}  // namespace

Result<LogFormat> parse_log_format(const std::string& text) {
  if (text == "text") return LogFormat::Text;
  if (text == "json") return LogFormat::Json;
  return Error(ErrorCategory::Config, "log format '" + text + "' is not one of: text, json");
}

Status init_logging(const LogOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") {
    return Error(ErrorCategory::Config,
                 "log level '" + options.level +
                     "' is not one of: trace, debug, info, warn, error, critical, off");
  }

  spdlog::sink_ptr sink;
  std::string fallback_reason;
  if (!options.file.empty()) {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, false);
    } catch (const spdlog::spdlog_ex& e) {
      fallback_reason = e.what();
    }
  }
  if (!sink) sink = std::make_shared<spdlog::sinks::ansicolor_stderr_sink_mt>();

  auto logger = std::make_shared<spdlog::logger>(options.program, sink);
  auto formatter = std::make_unique<spdlog::pattern_formatter>();
  if (options.format == LogFormat::Json) {
    formatter->add_flag<JsonMessageFlag>('*').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","program":"%n","msg":%*})");
  } else {
    formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%l%$ %n: %v");
  }
  logger->set_formatter(std::move(formatter));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  if (!fallback_reason.empty()) {
    spdlog::warn("cannot open log file {}: {}; logging to stderr", options.file, fallback_reason);
  }
  return ok();
}

}  // namespace pvekit::core
