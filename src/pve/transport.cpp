#include "pve/transport.h"

#include "core/strings.h"

namespace pvekit::pve {

std::string_view to_string(HttpMethod method) {
  switch (method) {
    case HttpMethod::Get: return "GET";
    case HttpMethod::Post: return "POST";
    case HttpMethod::Put: return "PUT";
    case HttpMethod::Delete: return "DELETE";
  }
  return "GET";
}

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  std::string wanted = core::to_lower(name);
  for (const auto& [k, v] : headers) {
    if (core::to_lower(k) == wanted) return v;
  }
  return std::nullopt;
}

std::string_view to_string(TransportStage stage) {
  switch (stage) {
    case TransportStage::Connect: return "connect";
    case TransportStage::Tls: return "tls";
    case TransportStage::Io: return "io";
  }
  return "io";
}

core::Error transport_error(std::string message, TransportStage stage) {
  return core::Error(core::ErrorCategory::Transport, std::move(message))
      .with_detail("stage", std::string(to_string(stage)));
}

TransportStage transport_stage(const core::Error& error) {
  if (error.category() != core::ErrorCategory::Transport) return TransportStage::Io;
  auto it = error.details().find("stage");
  if (it == error.details().end()) return TransportStage::Io;
  if (it->second == "connect") return TransportStage::Connect;
  if (it->second == "tls") return TransportStage::Tls;
  return TransportStage::Io;
}

}  // namespace pvekit::pve
