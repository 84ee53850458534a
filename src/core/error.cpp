#include "core/error.h"

#include <cstring>

namespace pvekit::core {

std::string_view to_string(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::Config: return "config";
    case ErrorCategory::Usage: return "usage";
    case ErrorCategory::Api: return "api";
    case ErrorCategory::Transport: return "transport";
    case ErrorCategory::Auth: return "auth";
    case ErrorCategory::NotFound: return "not-found";
    case ErrorCategory::Conflict: return "conflict";
    case ErrorCategory::Runtime: return "runtime";
    case ErrorCategory::System: return "system";
    case ErrorCategory::Rules: return "rules";
    case ErrorCategory::Parse: return "parse";
    case ErrorCategory::Internal: return "internal";
  }
  return "unknown";
}

Error::Error(ErrorCategory category, std::string message)
    : category_(category), message_(std::move(message)) {}

Error Error::system(std::string what, int err) {
  Error e(ErrorCategory::System, std::move(what));
  e.sys_errno_ = err;
  return e;
}

Error& Error::with_http_status(int status) & {
  http_status_ = status;
  return *this;
}
Error&& Error::with_http_status(int status) && { return std::move(with_http_status(status)); }

Error& Error::with_detail(std::string key, std::string value) & {
  details_[std::move(key)] = std::move(value);
  return *this;
}
Error&& Error::with_detail(std::string key, std::string value) && {
  return std::move(with_detail(std::move(key), std::move(value)));
}

Error& Error::wrap(std::string context) & {
  context_.insert(context_.begin(), std::move(context));
  return *this;
}
Error&& Error::wrap(std::string context) && { return std::move(wrap(std::move(context))); }

std::string Error::to_string() const {
  std::string out;
  for (const auto& c : context_) {
    out += c;
    out += ": ";
  }
  out += message_;
  if (sys_errno_ != 0) {
    out += ": ";
    out += std::strerror(sys_errno_);
  }
  if (!details_.empty()) {
    out += " (";
    bool first = true;
    for (const auto& [k, v] : details_) {
      if (!first) out += ", ";
      first = false;
      out += k;
      out += ": ";
      out += v;
    }
    out += ")";
  }
  return out;
}

}  // namespace pvekit::core
