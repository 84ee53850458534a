#include "oci/proxmox/spec_map.h"

#include <gtest/gtest.h>

#include <functional>

namespace pvekit::oci::proxmox {
namespace {

using core::Json;

ProxmoxSettings settings() {
  ProxmoxSettings s;
  s.rootfs_storage = "local-lvm";
  s.rootfs_size_gib = 8;
  s.networks = {"name=eth0,bridge=vmbr0,ip=dhcp"};
  s.ostype = "unmanaged";
  return s;
}

// runc's default spec with terminal off: what `lxcri spec` writes.
Json base_spec() {
  Json j = default_spec();
  j["process"]["terminal"] = false;
  return j;
}

core::Result<pve::LxcCreateOptions> map(const Json& j, const ProxmoxSettings& s = settings()) {
  auto spec = parse_spec(j);
  if (!spec.ok()) return std::move(spec).error();
  return map_spec(*spec, s);
}

std::string refusal(const Json& j) {
  auto r = map(j);
  EXPECT_FALSE(r.ok()) << j.dump();
  return r.ok() ? "" : r.error().message();
}

TEST(ProxmoxSpecMap, DefaultSpecMaps) {
  auto o = map(base_spec());
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_EQ(o->entrypoint, "sh");
  EXPECT_EQ(o->extra.at("env"),
            std::string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") + '\0' + "TERM=xterm");
  EXPECT_EQ(o->hostname, "lxcri");
  EXPECT_EQ(o->rootfs, "local-lvm:8,ro=1") << "runc's default spec has a read-only root";
  EXPECT_EQ(o->net.at(0), "name=eth0,bridge=vmbr0,ip=dhcp");
  EXPECT_EQ(o->ostype, "unmanaged");
  EXPECT_EQ(o->unprivileged, std::optional<bool>(true));
  EXPECT_TRUE(o->mp.empty()) << "runc's default mounts are LXC's own";
}

TEST(ProxmoxSpecMap, ResourcesMountsAndArgs) {
  Json j = base_spec();
  j["process"]["args"] = {"/bin/httpd", "-f", "-p", "8080"};
  j["linux"]["resources"]["memory"] = {{"limit", 256 * 1024 * 1024}, {"swap", 384 * 1024 * 1024}};
  j["linux"]["resources"]["cpu"] = {{"shares", 512}, {"quota", 150000}, {"period", 100000}, {"cpus", "0-1,4"}};
  j["mounts"].push_back({{"destination", "/data"}, {"type", "bind"}, {"source", "/srv/data"},
                         {"options", {"rbind", "ro"}}});
  auto o = map(j);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_EQ(o->entrypoint, "/bin/httpd -f -p 8080");
  EXPECT_EQ(o->memory, std::optional<int64_t>(256));
  EXPECT_EQ(o->swap, std::optional<int64_t>(128));
  EXPECT_EQ(o->extra.at("cpuunits"), "512");
  EXPECT_DOUBLE_EQ(*o->cpulimit, 1.5);
  EXPECT_EQ(o->cores, std::optional<int64_t>(3));
  EXPECT_EQ(o->mp.at(0), "/srv/data,mp=/data,ro=1");
}

TEST(ProxmoxSpecMap, AnnotationsBecomePveOptions) {
  Json j = base_spec();
  j["annotations"] = {{"org.pvekit.proxmox.net0", "name=eth0,bridge=vmbr1,ip=dhcp"},
                      {"org.pvekit.proxmox.onboot", "1"},
                      {"org.pvekit.proxmox.memory", "1024"},
                      {"org.pvekit.proxmox.features", "nesting=1"},
                      {"other.annotation", "ignored here"}};
  auto o = map(j);
  ASSERT_TRUE(o.ok()) << o.error().to_string();
  EXPECT_EQ(o->net.at(0), "name=eth0,bridge=vmbr1,ip=dhcp");
  EXPECT_EQ(o->memory, std::optional<int64_t>(1024));
  EXPECT_EQ(o->extra.at("onboot"), "1");
  EXPECT_EQ(o->extra.at("features"), "nesting=1");
  EXPECT_EQ(o->extra.size(), 3u);  // env, onboot, features
}

TEST(ProxmoxSpecMap, WhatCannotBeMappedIsRefusedByField) {
  struct Case {
    std::function<void(Json&)> change;
    std::string field;
  } cases[] = {
      {[](Json& j) { j["process"]["terminal"] = true; }, "process.terminal"},
      {[](Json& j) { j["process"]["args"] = {"sh", "-c", "echo hi"}; }, "process.args[2]"},
      {[](Json& j) { j["process"]["cwd"] = "/srv"; }, "process.cwd"},
      {[](Json& j) { j["process"]["user"]["uid"] = 1000; }, "process.user"},
      {[](Json& j) { j["process"]["env"].push_back("BAD-NAME=1"); }, "process.env[2]"},
      {[](Json& j) { j["process"]["rlimits"].push_back({{"type", "RLIMIT_NPROC"}, {"soft", 1}, {"hard", 1}}); },
       "process.rlimits[1]"},
      {[](Json& j) { j["process"]["capabilities"]["bounding"].push_back("CAP_SYS_MODULE"); }, "process.capabilities"},
      {[](Json& j) { j["mounts"].push_back({{"destination", "/t"}, {"type", "tmpfs"}, {"source", "tmpfs"}}); },
       "mounts[7]"},
      {[](Json& j) { j["hooks"]["prestart"] = {{{"path", "/bin/true"}}}; }, "hooks"},
      {[](Json& j) { j["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}}; }, "linux.sysctl"},
      {[](Json& j) { j["linux"]["resources"]["pids"] = {{"limit", 100}}; }, "linux.resources.pids.limit"},
      {[](Json& j) { j["linux"]["namespaces"] = {{{"type", "pid"}}, {{"type", "mount"}}, {{"type", "uts"}}}; }, "linux.namespaces"},
      {[](Json& j) { j["linux"]["namespaces"][0]["path"] = "/proc/1/ns/pid"; }, "linux.namespaces[0]"},
      {[](Json& j) { j["annotations"] = {{"org.pvekit.proxmox.vmid", "100"}}; }, "org.pvekit.proxmox.vmid"},
      {[](Json& j) { j["annotations"] = {{"org.pvekit.proxmox.entrypoint", "x"}}; }, "already set from process.args"},
      {[](Json& j) { j["annotations"] = {{"org.pvekit.proxmox.Bad_Key", "x"}}; }, "not a PVE option name"},
  };
  for (const auto& c : cases) {
    Json j = base_spec();
    c.change(j);
    std::string message = refusal(j);
    EXPECT_NE(message.find(c.field), std::string::npos) << c.field << ": " << message;
    EXPECT_NE(message.find("proxmox backend"), std::string::npos) << message;
  }
}

TEST(ProxmoxIdentity, TagAndDescriptionRoundTrip) {
  EXPECT_EQ(id_tag("Web_1.a+b"), "lxcri-web_1.a+b");
  EXPECT_EQ(id_tag("x:y"), "lxcri-x_y");
  Identity in{.id = "Web_1", .bundle = "/srv/b", .rootfs = "/srv/b/rootfs", .created = "2026-01-01T00:00:00Z",
              .owner = "root"};
  std::string text = encode_description(in);
  auto out = decode_description("user note\n" + text + "\nmore notes");
  ASSERT_TRUE(out);
  EXPECT_EQ(out->id, "Web_1");
  EXPECT_EQ(out->bundle, "/srv/b");
  EXPECT_EQ(out->created, in.created);
  EXPECT_FALSE(decode_description("a plain description"));
  EXPECT_FALSE(decode_description("lxcri-state: not json"));
}

}  // namespace
}  // namespace pvekit::oci::proxmox
