#include "daemon/status_client.h"

#include <sys/stat.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "balance/audit.h"
#include "pve/curl_transport.h"
#include "pve/params.h"

namespace pvekit::daemon {
namespace {

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string ago(double seconds) {
  if (seconds < 0) return fmt::format("in {:.0f} s", -seconds);
  return fmt::format("{:.0f} s ago", seconds);
}

// `path` with the query for one cluster (when named) and the text format.
std::string target_of(const std::string& path, const std::string& cluster, bool text) {
  std::vector<std::string> query;
  if (!cluster.empty()) query.push_back("cluster=" + pve::url_encode(cluster));
  if (text) query.push_back("format=text");
  std::string target = path;
  for (size_t i = 0; i < query.size(); ++i) target += (i == 0 ? "?" : "&") + query[i];
  return target;
}

}  // namespace

core::Result<std::optional<std::string>> ask_daemon(const std::string& socket, const std::string& target) {
  struct stat st{};
  if (socket.empty() || ::lstat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) return std::optional<std::string>();
  const std::string where = "the proxlb daemon's status socket " + socket;
  PVEKIT_ASSIGN(auto transport, pve::CurlTransport::create({.connect_timeout = std::chrono::milliseconds(2000),
                                                            .timeout = std::chrono::milliseconds(30'000),
                                                            .unix_socket = socket}));
  auto answer = transport->send({.url = "http://proxlb" + target});
  if (!answer) {
    if (pve::transport_stage(answer.error()) == pve::TransportStage::Connect) {
      spdlog::info("{} does not answer ({}); reading the cluster directly", where, answer.error().to_string());
      return std::optional<std::string>();
    }
    return std::move(answer).error().wrap("GET " + target + " on " + where);
  }
  if (answer->status == 404) {
    spdlog::info("{}: {}; reading the cluster directly", where, first_line(answer->body));
    return std::optional<std::string>();
  }
  if (answer->status != 200) {
    return core::Error(core::ErrorCategory::Api, "GET " + target + " on " + where + ": " +
                                                     std::to_string(answer->status) + " " + first_line(answer->body));
  }
  return std::optional<std::string>(std::move(answer->body));
}

std::string daemon_summary(const core::Json& status, const std::string& socket, double now_unix) {
  auto number = [&](const char* key) { return status.value(key, core::Json()).is_number() ? status[key].get<double>() : 0.0; };
  std::string out = "from the proxlb daemon on " + socket;
  if (double round = number("last_success_time"); round > 0) {
    out += fmt::format(": as its round of {} read the cluster ({})", balance::rfc3339_utc(round), ago(now_unix - round));
  }
  out += "\n";
  const core::Json& last = status.value("last_round", core::Json());
  if (last.is_object()) {
    out += fmt::format("leader: {} ({}); last round: {}; hold: {}; PVE CRS rebalancing: {}",
                       status.value("leader", false) ? "yes" : "no", status.value("leadership", std::string()),
                       last.value("summary", std::string()), status.value("gate", std::string()),
                       status.value("pve_crs_rebalancing", false) ? "on (HA guests left to it)" : "off");
  } else {
    out += "no round has run yet";
  }
  if (status.value("last_error", core::Json()).is_string()) {
    out += "; the last round failed: " + status["last_error"].get<std::string>();
  }
  if (double next = number("next_round_time"); next > 0) out += "; next round " + ago(now_unix - next);
  return out + "\n";
}

core::Result<bool> show_from_daemon(const std::string& socket, const std::string& cluster, DaemonView view, bool json,
                                    double now_unix, std::ostream& out) {
  PVEKIT_ASSIGN(auto status_body, ask_daemon(socket, target_of("/status", cluster, false)));
  if (!status_body) return false;
  core::Json status = core::Json::parse(*status_body, nullptr, false);
  if (status.is_discarded()) {
    return core::Error(core::ErrorCategory::Api, "the proxlb daemon on " + socket + " sent /status that is not JSON");
  }
  const std::string path = view == DaemonView::Status ? "/cluster" : "/plan";
  PVEKIT_ASSIGN(auto body, ask_daemon(socket, target_of(path, cluster, !json)));
  if (!body) return false;
  if (!json) {
    out << daemon_summary(status, socket, now_unix) << "\n" << *body;
    return true;
  }
  core::Json document = core::Json::parse(*body, nullptr, false);
  if (!document.is_object()) {
    return core::Error(core::ErrorCategory::Api, "the proxlb daemon on " + socket + " sent " + path + " that is not a JSON object");
  }
  status["socket"] = socket;
  document["daemon"] = status;
  out << document.dump(2) << "\n";
  return true;
}

}  // namespace pvekit::daemon
