// proxmox.template_format oci: the process goes into the image config, not
// into the create call (PVE 9.1 fills entrypoint/env from the image).
#include <gtest/gtest.h>

#include "oci/proxmox/spec_map.h"
#include "oci/runtime_config.h"

namespace pvekit::oci::proxmox {
namespace {

using core::Json;

ProxmoxSettings oci_settings() {
  ProxmoxSettings s;
  s.rootfs_storage = "local-lvm";
  s.networks = {"name=eth0,bridge=vmbr0,ip=dhcp"};
  s.template_format = TemplateFormat::Oci;
  return s;
}

Json app_spec() {
  Json j = default_spec();
  j["process"]["terminal"] = false;
  j["process"]["args"] = {"/bin/httpd", "-f", "-h", "/srv/www root"};
  j["process"]["cwd"] = "/srv";
  return j;
}

core::Result<pve::LxcCreateOptions> map(const Json& j, const ProxmoxSettings& s = oci_settings()) {
  auto spec = parse_spec(j);
  if (!spec.ok()) return std::move(spec).error();
  return map_spec(*spec, s);
}

TEST(ProxmoxOciTemplate, TheProcessGoesIntoTheImageNotTheCreateCall) {
  auto o = map(app_spec());
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_EQ(o->entrypoint, "") << "PVE takes the entrypoint from the image";
  EXPECT_EQ(o->extra.count("env"), 0u) << "PVE takes env from the image";
  EXPECT_EQ(o->hostname, "lxcri");

  auto spec = parse_spec(app_spec());
  ASSERT_TRUE(spec.ok());
  pve::OciImageConfig c = image_config(*spec->process);
  EXPECT_EQ(c.entrypoint, (std::vector<std::string>{"/bin/httpd", "-f", "-h", "/srv/www root"}));
  EXPECT_TRUE(c.cmd.empty());
  EXPECT_EQ(c.env, spec->process->env);
  EXPECT_EQ(c.working_dir, "/srv");
  EXPECT_EQ(c.user, "0:0");
  // What PVE 9.1 makes of it.
  EXPECT_EQ(pve::oci_ct_settings(c).entrypoint, std::optional<std::string>("/bin/httpd \"-f\" \"-h\" \"/srv/www root\""));
}

TEST(ProxmoxOciTemplate, TarGzStillRefusesWhatOnlyTheImageCanCarry) {
  ProxmoxSettings targz = oci_settings();
  targz.template_format = TemplateFormat::TarGz;
  auto o = map(app_spec(), targz);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.error().message().find("process.args[3]"), std::string::npos) << o.error().message();
  EXPECT_NE(o.error().message().find("proxmox.template_format oci"), std::string::npos);
  Json cwd_only = app_spec();
  cwd_only["process"]["args"] = {"/bin/httpd"};
  auto c = map(cwd_only, targz);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message().find("process.cwd"), std::string::npos);
}

TEST(ProxmoxOciTemplate, WhatPveWouldMangleIsRefusedByField) {
  auto refusal = [](const std::function<void(Json&)>& change) {
    Json j = app_spec();
    change(j);
    auto o = map(j);
    EXPECT_FALSE(o.ok()) << j.dump();
    return o.ok() ? std::string() : o.error().message();
  };
  EXPECT_NE(refusal([](Json& j) { j["process"]["args"] = {"/bin/my app"}; }).find("process.args[0]"),
            std::string::npos)
      << "the first word is not quoted by PVE";
  EXPECT_NE(refusal([](Json& j) { j["process"]["args"] = {"sh", "say \"hi\""}; }).find("process.args[1]"),
            std::string::npos)
      << "PVE does not escape quotes";
  EXPECT_NE(refusal([](Json& j) { j["process"]["user"]["uid"] = 1000; }).find("process.user"), std::string::npos)
      << "PVE 9.1 ignores the image's User";
  EXPECT_NE(refusal([](Json& j) { j["annotations"]["org.pvekit.proxmox.env"] = "A=1"; }).find("process.env"),
            std::string::npos)
      << "an env annotation would fight the image's Env";
}

TEST(ProxmoxOciTemplate, TheFormatIsAConfigKey) {
  auto config = load_runtime_config({.environment = {{"LXCRI_PROXMOX_TEMPLATE_FORMAT", "oci"}},
                                     .default_file = "/nonexistent/lxcri.json"});
  ASSERT_TRUE(config.ok()) << config.error().to_string();
  EXPECT_EQ(config->proxmox.template_format, TemplateFormat::Oci);
  auto fallback = load_runtime_config({.default_file = "/nonexistent/lxcri.json"});
  ASSERT_TRUE(fallback.ok());
  EXPECT_EQ(fallback->proxmox.template_format, TemplateFormat::TarGz);
  auto bad = load_runtime_config({.environment = {{"LXCRI_PROXMOX_TEMPLATE_FORMAT", "zip"}},
                                  .default_file = "/nonexistent/lxcri.json"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().to_string().find("proxmox.template_format"), std::string::npos) << bad.error().to_string();
}

}  // namespace
}  // namespace pvekit::oci::proxmox
