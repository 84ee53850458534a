// sim::Server: pvekit's HTTP server (src/http) turned to pvesim's Api —
// requests become ApiRequests (query and body parameters merged, as PVE
// merges them), ApiResponses become responses with PVE's reason phrases.
#include "sim/server.h"

#include "core/strings.h"
#include "http/form.h"

namespace pvekit::sim {
namespace {

using core::Error;
using core::ErrorCategory;

void parse_json_body(const std::string& body, Params& out) {
  auto doc = core::parse_json(body, "request body");
  if (!doc.ok() || !doc->is_object()) return;
  for (const auto& [k, v] : doc->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
    else if (v.is_boolean()) out[k].assign(1, v.get<bool>() ? '1' : '0');
    else if (!v.is_null()) out[k] = v.dump();
  }
}

// `path` is below /api2/json or /_sim, URL-decoded. Body parameters win over
// query parameters of the same name.
core::Result<ApiRequest> to_api_request(const http::Request& req, std::string path) {
  ApiRequest ar;
  ar.method = req.method;
  ar.path = std::move(path);
  for (auto& [k, v] : http::parse_urlencoded(req.query)) ar.params[k] = std::move(v);
  const std::string& type = req.header("content-type");
  if (core::starts_with(type, "application/x-www-form-urlencoded")) {
    for (auto& [k, v] : http::parse_urlencoded(req.body)) ar.params[k] = std::move(v);
  } else if (core::starts_with(type, "application/json")) {
    parse_json_body(req.body, ar.params);
  } else if (core::starts_with(type, "multipart/form-data")) {
    PVEKIT_ASSIGN(std::vector<http::FormPart> parts, http::parse_multipart(req.body, type));
    for (auto& part : parts) {
      if (part.filename.empty()) {
        ar.params[part.name] = std::move(part.content);
      } else {
        ar.params[part.name] = std::move(part.filename);
        ar.upload = std::move(part.content);
      }
    }
  }
  ar.headers = req.headers;
  ar.cookies = http::parse_cookies(req.header("cookie"));
  return ar;
}

ApiResponse handle(Api& api, const http::Request& req) {
  // Every path, including ones with CR or LF decoded from %0D/%0A: PVE
  // answers what it does not serve with its 501.
  const std::string path = http::url_decode(req.path, false);
  const bool admin = core::starts_with(path, "/_sim/");
  if (!admin && !core::starts_with(path, "/api2/json/")) {
    return error_response(
        Error(ErrorCategory::Api, "Method '" + req.method + " " + path + "' not implemented").with_http_status(501));
  }
  auto request = to_api_request(req, path.substr(admin ? 5 : 10));
  if (!request.ok()) return error_response(request.error());
  return admin ? api.handle_admin(*request) : api.handle(*request);
}

http::Response to_http_response(ApiResponse out) {
  http::Response res;
  res.status = out.status;
  // PVE's message as the reason phrase; successes keep the standard "OK".
  if (out.status != 200) res.reason = std::move(out.reason);
  res.headers.emplace_back("Content-Type", "application/json;charset=UTF-8");
  // Large cached bodies (cluster/resources) go out without a copy.
  if (out.shared_body) res.shared_body = std::move(out.shared_body);
  else res.body = std::move(out.body);
  return res;
}

}  // namespace

struct Server::Impl {
  Api& api;
  ServerOptions options;
  std::optional<http::TlsIdentity> tls;
  std::unique_ptr<http::Server> http;
};

Server::Server(Api& api, ServerOptions options) : impl_(std::make_unique<Impl>(Impl{api, std::move(options), {}, {}})) {}
Server::~Server() = default;

const std::string& Server::fingerprint() const {
  static const std::string kNone;
  return impl_->tls ? impl_->tls->fingerprint() : kNone;
}

core::Result<int> Server::bind() {
  Impl& s = *impl_;
  if (!s.options.plain_http) {
    auto tls = s.options.cert_file.empty() ? http::TlsIdentity::self_signed(s.options.host)
                                           : http::TlsIdentity::load(s.options.cert_file, s.options.key_file);
    if (!tls.ok()) return std::move(tls).error();
    s.tls = std::move(*tls);
  }
  Api& api = s.api;
  s.http = std::make_unique<http::Server>(
      http::ServerOptions{.host = s.options.host,
                          .port = s.options.port,
                          .tls = s.tls,
                          .worker_threads = std::max(1, s.options.threads),
                          .limits = s.options.limits},
      [&api](const http::Request& req) { return to_http_response(handle(api, req)); });
  return s.http->bind();
}

core::Status Server::serve() {
  if (!impl_->http) return Error(ErrorCategory::System, "serve: the server is not bound");
  return impl_->http->serve();
}

void Server::stop() {
  if (impl_->http) impl_->http->stop();
}

}  // namespace pvekit::sim
