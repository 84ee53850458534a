#include "balance/twin.h"

#include <gtest/gtest.h>

#include <random>

#include "core/json.h"

namespace pvekit::balance {
namespace {

pve::ClusterResource node(const std::string& name, uint64_t mem, double cpu) {
  pve::ClusterResource r;
  r.type = "node";
  r.id = "node/" + name;
  r.node = name;
  r.status = "online";
  r.maxmem = 64ull << 30;
  r.mem = mem;
  r.maxcpu = 16;
  r.cpu = cpu;
  return r;
}

pve::ClusterResource guest(int64_t vmid, const std::string& node, const std::string& status) {
  pve::ClusterResource r;
  r.type = "qemu";
  r.vmid = vmid;
  r.node = node;
  r.name = "vm" + std::to_string(vmid);
  r.status = status;
  r.maxmem = 8ull << 30;
  r.mem = status == "running" ? 4ull << 30 : 0;
  r.maxcpu = 4;
  r.cpu = status == "running" ? 0.5 : 0;
  r.tags = {"plb_pin_pve1"};
  return r;
}

TEST(Twin, NodeBaseIsWhatItsGuestsDoNotAccountFor) {
  TwinInputs in;
  in.cluster_name = "prod";
  // 4 GiB + 2 CPUs' worth from the running guest; the node shows 6 GiB and 0.25 of 16 CPUs.
  in.resources = {node("pve1", 6ull << 30, 0.25), guest(100, "pve1", "running"), guest(101, "pve1", "stopped")};
  in.configs[100].values = {{"scsi0", "local-lvm:vm-100-disk-0,size=32G"}, {"ide2", "none,media=cdrom"},
                            {"net0", "virtio=AA:BB,bridge=vmbr0"}, {"ostype", "l26"}, {"memory", "8192"}};
  core::Json s = twin_scenario(in);
  EXPECT_EQ(s["cluster"]["name"], "prod");
  ASSERT_EQ(s["nodes"].size(), 1u);
  EXPECT_EQ(s["nodes"][0]["base_memory"], 2ull << 30);
  EXPECT_DOUBLE_EQ(s["nodes"][0]["base_cpu"].get<double>(), 0.125);
  ASSERT_EQ(s["guests"].size(), 2u);
  const core::Json& g = s["guests"][0];
  EXPECT_EQ(g["storage"], "local-lvm");
  EXPECT_EQ(static_cast<uint64_t>(g["load"]["mem"].get<double>() * static_cast<double>(8ull << 30)), 4ull << 30);
  EXPECT_EQ(g["load"]["cpu"], 0.5);
  EXPECT_EQ(g["load"]["noise"], 0);
  EXPECT_EQ(g["tags"][0], "plb_pin_pve1");
  EXPECT_EQ(g["config"], (core::Json{{"net0", "virtio=AA:BB,bridge=vmbr0"}, {"ostype", "l26"}}));
  EXPECT_EQ(s["guests"][1]["status"], "stopped");
  EXPECT_FALSE(s.contains("users")) << "the cluster's users and secrets are never copied";
}

// pvesim gives a twin guest fraction * memory bytes, truncated: that must be
// the byte count the cluster reported, or near-equal guests can trade places
// in the twin's plan.
TEST(Twin, GuestMemoryComesBackToTheByte) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    pve::ClusterResource g = guest(100, "pve1", "running");
    g.maxmem = (rng() % (1ull << 40)) + 1;
    g.mem = rng() % (g.maxmem + 1);
    TwinInputs in;
    in.resources = {g};
    double fraction = twin_scenario(in)["guests"][0]["load"]["mem"].get<double>();
    ASSERT_EQ(static_cast<uint64_t>(fraction * static_cast<double>(g.maxmem)), g.mem)
        << g.mem << " of " << g.maxmem << " bytes";
  }
}

pve::ClusterResource storage(const std::string& name, const std::string& node, bool shared) {
  pve::ClusterResource r;
  r.type = "storage";
  r.id = "storage/" + node + "/" + name;
  r.node = node;
  r.storage = name;
  r.status = "available";
  r.content = "iso,vztmpl,images";
  r.shared = shared;
  return r;
}

TEST(Twin, TemplatesAndIsosComeAlongGuestDisksWithTheirGuests) {
  TwinInputs in;
  in.resources = {storage("local", "pve1", false), storage("nfs", "pve1", true)};
  in.files["storage/pve1/local"] = {{.volid = "local:vztmpl/debian-12.tar.zst", .content = "vztmpl",
                                     .format = "tzst", .size = 126ull << 20}};
  in.files["storage/pve1/nfs"] = {{.volid = "nfs:iso/netinst.iso", .content = "iso", .format = "iso", .size = 1 << 30}};
  core::Json volumes = twin_scenario(in)["volumes"];
  ASSERT_EQ(volumes.size(), 2u);
  EXPECT_EQ(volumes[0], (core::Json{{"storage", "local"}, {"node", "pve1"}, {"volid", "local:vztmpl/debian-12.tar.zst"},
                                    {"content", "vztmpl"}, {"format", "tzst"}, {"size", 126ull << 20}}));
  EXPECT_FALSE(volumes[1].contains("node")) << "a shared storage's files are on every node";
}

// Volume names come from the cluster's API: a hostile one (YAML syntax,
// quotes, newlines, a path out of the storage) stays one string in the
// scenario file, unchanged, and adds no key.
TEST(Twin, HostileVolumeNamesStayOneString) {
  TwinInputs in;
  in.resources = {storage("local", "pve1", false)};
  const std::string hostile = "local:iso/x.iso\"\n  volid: evil\nusers: [{userid: root@pam}]\n#: ../../etc/shadow";
  in.files["storage/pve1/local"] = {{.volid = hostile, .content = "iso", .format = "iso", .size = 1}};
  core::Json scenario = twin_scenario(in);
  auto reread = core::parse_yaml(twin_yaml(scenario, "10.0.0.1:8006"), "twin");
  ASSERT_TRUE(reread.ok()) << reread.error().to_string();
  EXPECT_EQ((*reread)["volumes"], scenario["volumes"]);
  EXPECT_EQ((*reread)["volumes"][0]["volid"], hostile);
  EXPECT_FALSE(reread->contains("users"));
}

TEST(Twin, HaRulesKeepTheirPriorities) {
  TwinInputs in;
  pve::HaRule rule;
  rule.rule = "prefer-big";
  rule.type = "node-affinity";
  rule.resources = {"vm:100"};
  rule.nodes = {{"pve1", 2}, {"pve2", 0}};
  rule.strict = true;
  in.ha_rules = {rule};
  core::Json s = twin_scenario(in);
  EXPECT_EQ(s["ha"]["rules"][0]["nodes"], (core::Json{"pve1:2", "pve2"}));
  EXPECT_EQ(s["ha"]["rules"][0]["strict"], true);
  std::string yaml = twin_yaml(s, "10.0.0.1:8006");
  EXPECT_EQ(yaml.rfind("# A pvesim scenario: a twin of the cluster at 10.0.0.1:8006", 0), 0u);
}

}  // namespace
}  // namespace pvekit::balance
