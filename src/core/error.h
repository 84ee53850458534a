#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace pvekit::core {

// What kind of failure an Error is; apps map categories to exit codes and
// callers branch on them (e.g. retry on Transport, re-login on Auth).
enum class ErrorCategory {
  Config,     // bad configuration key, value or file
  Usage,      // bad command-line arguments
  Api,        // the remote API answered with an error
  Transport,  // the request never got a usable answer (connect, TLS, timeout)
  Auth,       // authentication or permission failure
  NotFound,   // the named object does not exist
  Conflict,   // the object exists but is in the wrong state (locked, running, duplicate)
  Runtime,    // container runtime failures
  System,     // a syscall or OS-level failure; sys_errno() says which
  Rules,      // placement rules that cannot be met
  Parse,      // malformed input data (JSON, YAML, UPID, ...)
  Internal,   // a bug: an invariant did not hold
};

std::string_view to_string(ErrorCategory category);

// One error type for the whole project: a category, a message, an optional
// errno / HTTP status, optional per-field details, and a chain of context
// strings added by each layer on the way up ("outer: inner: message").
//
// Messages must never contain secrets (passwords, tickets, token values).
class Error {
 public:
  Error(ErrorCategory category, std::string message);

  // An OS error: message is `what`, errno is kept for callers and the text of
  // strerror(err) is appended when rendered.
  static Error system(std::string what, int err);

  ErrorCategory category() const { return category_; }
  const std::string& message() const { return message_; }
  int sys_errno() const { return sys_errno_; }
  // HTTP status of an API error, 0 when not an HTTP error.
  int http_status() const { return http_status_; }
  // Per-field detail, e.g. PVE's parameter errors {"vmid": "invalid format"}.
  const std::map<std::string, std::string>& details() const { return details_; }
  // Context strings, outermost first.
  const std::vector<std::string>& context() const { return context_; }

  Error& with_http_status(int status) &;
  Error&& with_http_status(int status) &&;
  Error& with_detail(std::string key, std::string value) &;
  Error&& with_detail(std::string key, std::string value) &&;

  // Puts `context` in front of the existing chain.
  Error& wrap(std::string context) &;
  Error&& wrap(std::string context) &&;

  // "context1: context2: message[: strerror][ (field: detail, ...)]"
  std::string to_string() const;

 private:
  ErrorCategory category_;
  std::string message_;
  int sys_errno_ = 0;
  int http_status_ = 0;
  std::map<std::string, std::string> details_;
  std::vector<std::string> context_;
};

}  // namespace pvekit::core
