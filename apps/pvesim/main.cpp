// pvesim: a simulated Proxmox VE 9.1 cluster speaking the PVE HTTP API.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "core/log.h"
#include "pvekit/version.h"
#include "sim/scenario.h"
#include "sim/server.h"

namespace {

double seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000; }
// At least 1 ms: a positive timeout that rounds to 0 would close every connection at once.
std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(std::max<int64_t>(1, static_cast<int64_t>(seconds * 1000 + 0.5)));
}

}  // namespace

int main(int argc, char** argv) {
  using namespace pvekit;
  CLI::App app{
      "pvesim - a simulated Proxmox VE 9.1 cluster serving https://HOST:PORT/api2/json/...\n"
      "Default credentials: root@pam / " + std::string(sim::kDefaultPassword) +
      ", API token root@pam!pvekit = " + sim::kDefaultTokenSecret +
      "\nFault injection and time control: /_sim/... (see docs/pvesim.md), unauthenticated unless\n"
      "--admin-token-file is given; a non-loopback --host also needs --allow-remote-admin."};
  sim::AppOptions o;
  core::LogOptions log{.program = "pvesim"};
  std::string log_format = "text";
  std::string seed_text;
  app.set_version_flag("--version", std::string("pvesim ") + pvekit::kVersion);
  app.add_option("--host", o.server.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", o.server.port, "Port to listen on; 0 picks a free port (printed at start)")
      ->capture_default_str();
  app.add_flag("--http", o.server.plain_http, "Serve plain HTTP instead of HTTPS (tests)");
  app.add_option("--cert", o.server.cert_file, "PEM certificate file (default: generate a self-signed one)");
  app.add_option("--key", o.server.key_file, "PEM private key file for --cert");
  app.add_option("--threads", o.server.threads,
                 "Worker threads running requests (waiting connections hold none)")
      ->capture_default_str();
  http::Limits& limits = o.server.limits;
  double header_timeout = seconds(limits.header_timeout), body_timeout = seconds(limits.body_timeout),
         keep_alive_timeout = seconds(limits.keep_alive_timeout);
  app.add_option("--header-timeout", header_timeout,
                 "Seconds a client has for a request's header (from connect or its first byte); then it is closed")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--body-timeout", body_timeout, "Seconds a client has for a request's body after its header")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--keep-alive-timeout", keep_alive_timeout,
                 "Seconds an idle keep-alive connection stays open between requests")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--max-connections", limits.max_connections, "Open connections at most; more are closed at once")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--scenario", o.scenario, "Cluster scenario YAML file (default: built-in 5-node cluster)")
      ->check(CLI::ExistingFile);
  app.add_option("--generate", o.generate, "Synthetic cluster instead of a scenario, e.g. nodes=50,guests=10000");
  app.add_option("--time-scale", o.time_scale, "Simulated seconds per real second (60: a minute per second)")
      ->capture_default_str();
  app.add_option("--seed", seed_text, "Seed of the load profiles (default: the scenario's)");
  app.add_option("--log-format", log_format, "Log format: text or json")->capture_default_str();
  app.add_option("--log-level", log.level, "trace, debug, info, warn, error, critical, off")->capture_default_str();
  app.add_flag("--allow-remote-admin", o.allow_remote_admin,
               "Listen on a non-loopback --host although /_sim/ (faults, time) needs no credentials");
  app.add_option("--admin-token-file", o.admin_token_file,
                 "Require 'Authorization: Bearer TOKEN' on /_sim/, TOKEN being this file's first line")
      ->check(CLI::ExistingFile);
  app.add_flag("--list-routes", o.list_routes, "Print the served routes (method, path, parameters) as JSON and exit");
  CLI11_PARSE(app, argc, argv);
  limits.header_timeout = millis(header_timeout);
  limits.body_timeout = millis(body_timeout);
  limits.keep_alive_timeout = millis(keep_alive_timeout);
  if (o.server.cert_file.empty() != o.server.key_file.empty()) {
    std::cerr << "error: --cert and --key go together\n";
    return 2;
  }
  if (!seed_text.empty()) {
    try {
      o.seed = std::stoull(seed_text);
    } catch (const std::exception&) {
      std::cerr << "error: --seed: not a number: " << seed_text << "\n";
      return 2;
    }
  }
  auto format = core::parse_log_format(log_format);
  if (!format.ok()) {
    std::cerr << "error: " << format.error().to_string() << "\n";
    return 2;
  }
  log.format = *format;
  if (auto st = core::init_logging(log); !st.ok()) {
    std::cerr << "error: " << st.error().to_string() << "\n";
    return 2;
  }
  if (auto st = sim::run_app(o, std::cout); !st.ok()) {
    std::cerr << "error: " << st.error().to_string() << "\n";
    return 1;
  }
  return 0;
}
