#pragma once

// The `proxmox_api` configuration section (ProxLB's key names), shared by
// every program that talks to a PVE cluster: one schema, one validation and
// one way from config values to ClientOptions.

#include <functional>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/result.h"
#include "pve/client.h"

namespace pvekit::pve {

inline constexpr const char* kApiSection = "proxmox_api";

// Adds <section>.hosts, .user, .pass, .pass_file, .token_id, .token_secret,
// .token_secret_file, .ssl_verification, .ssl_fingerprint, .ca_file,
// .timeout, .retries, .wait_time.
void add_api_keys(core::ConfigSchema& schema, const std::string& section = kApiSection);

struct ApiConfig {
  std::vector<std::string> hosts;  // "host", "host:port", "[v6]:port"
  std::string user;                // "root@pam"
  std::string pass;                // secret
  std::string pass_file;
  std::string token_id;            // "name" or "user@realm!name"
  std::string token_secret;        // secret
  std::string token_secret_file;
  bool ssl_verification = true;
  std::vector<std::string> ssl_fingerprint;
  std::string ca_file;
  int timeout = 10;    // seconds per request
  int retries = 1;     // attempts per request
  int wait_time = 1;   // seconds between attempts
};

// Reads the section; empty hosts is allowed here (the caller decides whether
// the API is needed). Config errors name the key.
core::Result<ApiConfig> read_api_config(const core::LayeredConfig& config,
                                        const std::string& section = kApiSection);

// Checks that hosts and exactly one way to authenticate are given. For
// programs that always need the cluster (proxlb), so a bad config fails at
// load time rather than at the first request; to_client_options runs it too.
core::Status check_api_config(const ApiConfig& api, const std::string& section = kApiSection);

// Reads a secret file's text; injected so the conversion stays testable.
using SecretFileReader = std::function<core::Result<std::string>(const std::string& path)>;

// Runs check_api_config, fills pass/token_secret from their *_file (one
// trailing newline stripped) and returns the client options. Errors name the
// key, never a secret value.
core::Result<ClientOptions> to_client_options(const ApiConfig& api, const SecretFileReader& read_secret,
                                              const std::string& section = kApiSection);

}  // namespace pvekit::pve
