#include "pve/api_config.h"

#include <algorithm>

namespace pvekit::pve {
namespace {

using core::Error;
using core::ErrorCategory;
using core::config_key_error;
using core::ValueType;

core::Status check_credentials(const ApiConfig& a, const std::string& s) {
  if (a.user.empty() || a.user.find('@') == std::string::npos)
    return config_key_error(s + ".user", "expected user@realm");
  const bool password = !a.pass.empty() || !a.pass_file.empty();
  const bool secret = !a.token_secret.empty() || !a.token_secret_file.empty();
  if (!a.pass.empty() && !a.pass_file.empty())
    return config_key_error(s + ".pass", "set either pass or pass_file, not both");
  if (!a.token_secret.empty() && !a.token_secret_file.empty())
    return config_key_error(s + ".token_secret", "set either token_secret or token_secret_file, not both");
  if (password && (secret || !a.token_id.empty()))
    return config_key_error(s + ".pass", "use either a password or an API token, not both");
  if (!a.token_id.empty() && !secret)
    return config_key_error(s + ".token_id", "token_id is set but token_secret is missing");
  if (secret && a.token_id.empty())
    return config_key_error(s + ".token_secret", "token_secret is set but token_id is missing");
  if (!password && !secret)
    return config_key_error(s, "no credentials: set pass (or pass_file) or token_id + token_secret");
  return core::ok();
}

core::Status resolve_secret(const std::string& key, const std::string& path, std::string& value,
                            const SecretFileReader& read) {
  if (path.empty()) return core::ok();
  auto text = read(path);
  if (!text.ok()) return std::move(text).error().wrap("key '" + key + "': secret file");
  std::string v = *text;
  if (!v.empty() && v.back() == '\n') v.pop_back();
  if (!v.empty() && v.back() == '\r') v.pop_back();
  if (v.empty()) return config_key_error(key, "secret file '" + path + "' is empty");
  value = std::move(v);
  return core::ok();
}

}  // namespace

void add_api_keys(core::ConfigSchema& s, const std::string& section) {
  const std::string p = section + ".";
  s.add({.path = p + "hosts", .type = ValueType::StringList, .default_value = core::Json::array(),
         .help = "API hosts, 'host', 'host:port' or '[v6]:port'; tried in order"});
  s.add({.path = p + "user", .default_value = "root@pam", .help = "user@realm"});
  s.add({.path = p + "pass", .type = ValueType::Secret, .help = "password"});
  s.add({.path = p + "pass_file", .help = "file holding the password"});
  s.add({.path = p + "token_id", .help = "API token id"});
  s.add({.path = p + "token_secret", .type = ValueType::Secret, .help = "API token secret"});
  s.add({.path = p + "token_secret_file", .help = "file holding the token secret"});
  s.add({.path = p + "ssl_verification", .type = ValueType::Boolean, .default_value = true,
         .help = "verify the nodes' TLS certificates"});
  s.add({.path = p + "ssl_fingerprint", .type = ValueType::StringList, .default_value = core::Json::array(),
         .help = "accepted SHA-256 certificate fingerprints (AA:BB:...), one per node"});
  s.add({.path = p + "ca_file", .help = "PEM file of the CA that signed the nodes' certificates"});
  s.add({.path = p + "timeout", .type = ValueType::Integer, .default_value = 10, .help = "seconds per request",
         .min = 1, .max = 3600});
  s.add({.path = p + "retries", .type = ValueType::Integer, .default_value = 1, .help = "attempts per request",
         .min = 1, .max = 100});
  s.add({.path = p + "wait_time", .type = ValueType::Integer, .default_value = 1,
         .help = "seconds before the first retry", .min = 0, .max = 3600});
}

core::Result<ApiConfig> read_api_config(const core::LayeredConfig& c, const std::string& s) {
  ApiConfig a;
  a.hosts = c.get_list(s + ".hosts");
  for (const auto& host : a.hosts) {
    auto parsed = parse_host_port(host);
    if (!parsed.ok()) return config_key_error(s + ".hosts", parsed.error().message());
  }
  a.user = c.get_string(s + ".user");
  a.pass = c.get_string(s + ".pass");
  a.pass_file = c.get_string(s + ".pass_file");
  a.token_id = c.get_string(s + ".token_id");
  a.token_secret = c.get_string(s + ".token_secret");
  a.token_secret_file = c.get_string(s + ".token_secret_file");
  a.ssl_verification = c.get_bool(s + ".ssl_verification");
  a.ssl_fingerprint = c.get_list(s + ".ssl_fingerprint");
  a.ca_file = c.get_string(s + ".ca_file");
  if (!a.ssl_fingerprint.empty() && !a.ca_file.empty())
    return config_key_error(s + ".ssl_fingerprint", "set either ssl_fingerprint or ca_file, not both");
  if (!a.ssl_verification && (!a.ssl_fingerprint.empty() || !a.ca_file.empty()))
    return config_key_error(s + ".ssl_verification",
                        "is false, which turns verification off, but ssl_fingerprint or ca_file is set");
  a.timeout = static_cast<int>(c.get_int(s + ".timeout"));
  a.retries = static_cast<int>(c.get_int(s + ".retries"));
  a.wait_time = static_cast<int>(c.get_int(s + ".wait_time"));
  return a;
}

core::Status check_api_config(const ApiConfig& api, const std::string& s) {
  if (api.hosts.empty()) return config_key_error(s + ".hosts", "at least one host is required");
  return check_credentials(api, s);
}

core::Result<ClientOptions> to_client_options(const ApiConfig& api, const SecretFileReader& read_secret,
                                              const std::string& s) {
  PVEKIT_TRY(check_api_config(api, s));
  ClientOptions o;
  for (const auto& h : api.hosts) {
    PVEKIT_ASSIGN(auto hp, parse_host_port(h));
    o.hosts.push_back(hp.to_string());
  }
  o.user = api.user;
  o.password = api.pass;
  o.token_id = api.token_id;
  o.token_secret = api.token_secret;
  PVEKIT_TRY(resolve_secret(s + ".pass_file", api.pass_file, o.password, read_secret));
  PVEKIT_TRY(resolve_secret(s + ".token_secret_file", api.token_secret_file, o.token_secret, read_secret));
  if (!api.ssl_verification) {
    o.tls.verify = TlsVerify::Insecure;
  } else if (!api.ssl_fingerprint.empty()) {
    o.tls.verify = TlsVerify::Fingerprint;
    o.tls.fingerprints = api.ssl_fingerprint;
  } else if (!api.ca_file.empty()) {
    o.tls.verify = TlsVerify::CaFile;
    o.tls.ca_file = api.ca_file;
  }
  o.timeout = std::chrono::seconds(api.timeout);
  o.retries = std::max(0, api.retries - 1);
  o.backoff = std::chrono::seconds(api.wait_time);
  return o;
}

}  // namespace pvekit::pve
