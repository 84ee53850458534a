#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace pvekit::pve {

enum class HttpMethod { Get, Post, Put, Delete };

// "GET", "POST", "PUT", "DELETE".
std::string_view to_string(HttpMethod method);

// GET (and nothing else here) may be repeated without changing server state.
inline bool is_idempotent(HttpMethod method) { return method == HttpMethod::Get; }

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  HttpMethod method = HttpMethod::Get;
  std::string url;      // absolute: https://host:8006/api2/json/... (query included)
  HttpHeaders headers;  // may hold secrets (Authorization, Cookie): never log them
  std::string body;     // sent for POST/PUT; may hold secrets (login form): never log it
  // Whole-request limit; zero means the transport's default.
  std::chrono::milliseconds timeout{0};
};

struct HttpResponse {
  int status = 0;      // HTTP status code
  std::string reason;  // reason phrase of the status line; PVE puts its error message here
  HttpHeaders headers;
  std::string body;

  // First header named `name` (case-insensitive), nullopt if absent.
  std::optional<std::string> header(std::string_view name) const;
};

// How far a failed request got. Decides fail-over and retries: a request that
// failed at Connect or Tls never reached the server and may be sent again even
// when it is not idempotent; at Io it may have been processed.
enum class TransportStage { Connect, Tls, Io };

std::string_view to_string(TransportStage stage);

// A Transport error (category Transport) with detail "stage" = to_string(stage).
core::Error transport_error(std::string message, TransportStage stage);
// The stage of a transport error; Io when the error is not a transport error
// or names no stage (the safe assumption: the request may have been processed).
TransportStage transport_stage(const core::Error& error);

// Sends HTTP requests. Like leveldb's Env, every network effect of the PVE
// client goes through this interface so tests can substitute an in-memory
// fake or a fault-injecting wrapper.
//
// Contract: any HTTP answer, including 4xx/5xx, is a successful Result; an
// error Result (category Transport, see transport_error) means no usable answer
// arrived. Implementations must be safe to call from several threads at once.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual core::Result<HttpResponse> send(const HttpRequest& request) = 0;
};

}  // namespace pvekit::pve
