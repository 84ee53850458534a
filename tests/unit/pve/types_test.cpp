// Parsing of PVE answers. The fixtures are shaped like real PVE 9 output,
// including its quirks: numbers as strings, booleans as 0/1, missing fields.

#include "pve/types.h"

#include <gtest/gtest.h>

namespace pvekit::pve {
namespace {

using core::Json;

Json fixture(const char* text) { return Json::parse(text); }

TEST(Types, ClusterResourcesOfEveryKind) {
  auto data = fixture(R"([
    {"id":"node/pve1","type":"node","node":"pve1","status":"online","cpu":0.0523,"maxcpu":16,
     "mem":12884901888,"maxmem":68719476736,"disk":5368709120,"maxdisk":101203873792,"uptime":864000,
     "level":"","cgroup-mode":2},
    {"id":"qemu/100","type":"qemu","node":"pve1","vmid":100,"name":"web01","status":"running",
     "cpu":0.25,"maxcpu":4,"mem":"2147483648","maxmem":4294967296,"memhost":2200000000,
     "disk":0,"maxdisk":34359738368,"netin":123456,"netout":654321,"diskread":1000,"diskwrite":2000,
     "uptime":3600,"template":0,"tags":"plb_affinity_web;Prod","hastate":"started","pool":"prod"},
    {"id":"lxc/101","type":"lxc","node":"pve2","vmid":"101","name":"ct01","status":"stopped",
     "cpu":0,"maxcpu":2,"mem":0,"maxmem":536870912,"template":1,"lock":"backup"},
    {"id":"storage/pve1/local","type":"storage","node":"pve1","storage":"local","status":"available",
     "content":"iso,vztmpl,backup","plugintype":"dir","shared":0,"disk":10000,"maxdisk":20000},
    {"id":"storage/pve1/ceph","type":"storage","node":"pve1","storage":"ceph","status":"available",
     "content":"images,rootdir","plugintype":"rbd","shared":1},
    {"id":"pool/prod","type":"pool","pool":"prod"},
    "garbage"
  ])");
  auto r = parse_cluster_resources(data);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 6u) << "non-object entries are skipped";
  const auto& node = (*r)[0];
  EXPECT_EQ(node.type, "node");
  EXPECT_EQ(node.maxcpu, 16);
  EXPECT_EQ(node.maxmem, 68719476736u);
  EXPECT_EQ(node.uptime, 864000u);
  EXPECT_EQ(node.cgroup_mode, "2");
  const auto& vm = (*r)[1];
  EXPECT_EQ(vm.id, "qemu/100");
  EXPECT_EQ(vm.vmid, 100);
  EXPECT_EQ(vm.mem, 2147483648u) << "numeric string";
  EXPECT_EQ(vm.memhost, 2200000000u);
  EXPECT_DOUBLE_EQ(vm.cpu, 0.25);
  EXPECT_EQ(vm.tags, (std::vector<std::string>{"plb_affinity_web", "prod"}));
  EXPECT_FALSE(vm.template_);
  EXPECT_EQ(vm.hastate, "started");
  EXPECT_EQ(vm.pool, "prod");
  EXPECT_EQ(vm.netout, 654321u);
  const auto& ct = (*r)[2];
  EXPECT_EQ(ct.vmid, 101) << "vmid as string";
  EXPECT_TRUE(ct.template_);
  EXPECT_EQ(ct.lock, "backup");
  EXPECT_TRUE(ct.tags.empty());
  EXPECT_FALSE((*r)[3].shared);
  EXPECT_EQ((*r)[3].content, "iso,vztmpl,backup");
  EXPECT_EQ((*r)[3].plugintype, "dir");
  EXPECT_TRUE((*r)[4].shared);
  EXPECT_EQ((*r)[5].pool, "prod");
}

TEST(Types, WrongShapeIsAParseError) {
  auto r = parse_cluster_resources(Json::object());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), core::ErrorCategory::Parse);
  EXPECT_NE(r.error().to_string().find("expected an array, got object"), std::string::npos);
  EXPECT_TRUE(parse_cluster_resources(nullptr)->empty());
  EXPECT_FALSE(parse_node_status(Json::array()).ok());
}

TEST(Types, ClusterStatusCountsQuorumAndNodes) {
  auto r = parse_cluster_status(fixture(R"([
    {"type":"cluster","id":"cluster","name":"lab","nodes":3,"quorate":1,"version":7},
    {"type":"node","id":"node/pve1","name":"pve1","nodeid":1,"ip":"10.0.0.1","online":1,"local":1,"level":""},
    {"type":"node","id":"node/pve2","name":"pve2","nodeid":2,"ip":"10.0.0.2","online":1,"local":0,"level":"c"},
    {"type":"node","id":"node/pve3","name":"pve3","nodeid":3,"ip":"10.0.0.3","online":0,"local":0}
  ])"));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->clustered);
  EXPECT_EQ(r->name, "lab");
  EXPECT_TRUE(r->quorate);
  EXPECT_EQ(r->nodes_configured, 3);
  EXPECT_EQ(r->config_version, 7);
  ASSERT_EQ(r->nodes.size(), 3u);
  EXPECT_EQ(r->online_count(), 2u);
  EXPECT_TRUE(r->nodes[0].local);
  EXPECT_EQ(r->nodes[1].ip, "10.0.0.2");

  auto lost = parse_cluster_status(fixture(R"([{"type":"cluster","name":"lab","nodes":3,"quorate":0}])"));
  EXPECT_FALSE(lost->quorate);
  auto single = parse_cluster_status(fixture(R"([{"type":"node","name":"pve","online":1,"local":1}])"));
  EXPECT_FALSE(single->clustered);
  EXPECT_TRUE(single->quorate) << "a standalone node is its own quorum";
  EXPECT_EQ(single->nodes_configured, 1);
}

TEST(Types, NodesAndNodeStatus) {
  auto nodes = parse_nodes(fixture(R"([{"node":"pve1","status":"online","cpu":0.03,"maxcpu":8,
    "mem":4000000000,"maxmem":16000000000,"uptime":1000,"level":"",
    "ssl_fingerprint":"AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89"},
    {"node":"pve2","status":"offline"}])"));
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 2u);
  EXPECT_EQ((*nodes)[0].maxmem, 16000000000u);
  EXPECT_EQ((*nodes)[1].status, "offline");
  EXPECT_EQ((*nodes)[1].maxmem, 0u);

  auto s = parse_node_status(fixture(R"({
    "cpu":0.0412,"wait":0.001,"uptime":123456,"loadavg":["0.52","0.61","0.70"],
    "memory":{"total":67108864000,"used":20000000000,"free":47108864000,"available":50000000000},
    "swap":{"total":8589934592,"used":0,"free":8589934592},
    "rootfs":{"total":100000000000,"used":25000000000,"free":75000000000,"avail":70000000000},
    "cpuinfo":{"cpus":32,"cores":16,"sockets":1,"model":"AMD EPYC 7302P 16-Core Processor","mhz":"3000.000"},
    "pveversion":"pve-manager/9.1.1/42b13ee6f0e9d0f3",
    "current-kernel":{"sysname":"Linux","release":"6.17.2-1-pve","machine":"x86_64","version":"#1 SMP"},
    "boot-info":{"mode":"efi","secureboot":0},"ksm":{"shared":0}
  })"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->loadavg, (std::vector<double>{0.52, 0.61, 0.70}));
  EXPECT_EQ(s->memory.total, 67108864000u);
  EXPECT_EQ(s->memory.available, 50000000000u);
  EXPECT_EQ(s->swap.total, 8589934592u);
  EXPECT_EQ(s->rootfs.avail, 70000000000u);
  EXPECT_EQ(s->cpuinfo.cpus, 32);
  EXPECT_DOUBLE_EQ(s->cpuinfo.mhz, 3000.0);
  EXPECT_EQ(s->kernel_release, "6.17.2-1-pve");
  EXPECT_EQ(s->boot_mode, "efi");
  EXPECT_EQ(s->uptime, 123456u);
}

TEST(Types, GuestListsKeepPressureFields) {
  auto r = parse_guests(fixture(R"([{"vmid":101,"name":"ct01","status":"running","cpu":0.02,"cpus":2,
    "mem":104857600,"maxmem":536870912,"disk":"300000000","maxdisk":8589934592,"uptime":500,
    "tags":"a;b","type":"lxc","pressurecpusome":0.12,"pressurememoryfull":"0.01","pressureiosome":null}])"),
                            GuestType::Lxc);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  const auto& g = (*r)[0];
  EXPECT_EQ(g.type, GuestType::Lxc);
  EXPECT_EQ(g.disk, 300000000u);
  EXPECT_EQ(g.tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(g.pressure, (std::map<std::string, double>{{"pressurecpusome", 0.12}, {"pressurememoryfull", 0.01}}));
}

TEST(Types, GuestConfigHelpers) {
  auto c = parse_guest_config(fixture(R"({"arch":"amd64","cores":2,"hostname":"ct01","memory":"1024",
    "net0":"name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:00:01,ip=dhcp,type=veth",
    "net10":"name=eth10,bridge=vmbr1","net2":"name=eth2,bridge=vmbr0",
    "rootfs":"local-lvm:vm-101-disk-0,size=8G","onboot":1,"unprivileged":1,"tags":"web;prod",
    "digest":"0123abcd","features":"nesting=1"})"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->memory_mib(), 1024);
  EXPECT_EQ(c->cpus(), 2);
  EXPECT_EQ(c->name(), "ct01");
  EXPECT_TRUE(c->get_bool("onboot"));
  EXPECT_FALSE(c->get_bool("protection"));
  EXPECT_EQ(c->get("onboot"), "1");
  EXPECT_EQ(c->tags(), (std::vector<std::string>{"web", "prod"}));
  EXPECT_EQ(c->indexed_keys("net"), (std::vector<std::string>{"net0", "net2", "net10"}));
  auto rootfs = GuestConfig::split_property_string(*c->get("rootfs"), "volume");
  EXPECT_EQ(rootfs.at("volume"), "local-lvm:vm-101-disk-0");
  EXPECT_EQ(rootfs.at("size"), "8G");
  auto vm = parse_guest_config(fixture(R"({"name":"web01","cores":4,"sockets":2,"memory":8192})"));
  EXPECT_EQ(vm->cpus(), 8);
  EXPECT_EQ(vm->name(), "web01");
}

TEST(Types, RrdRowsDropMissingSamples) {
  auto r = parse_rrddata(fixture(R"([
    {"time":1700000000,"cpu":0.05,"maxcpu":8,"memused":4000000000,"memtotal":16000000000,
     "netin":1200.5,"netout":"800.25","loadavg":0.4,"pressurecpusome":0.02,"pressurememorysome":0.001,
     "pressureiofull":0.0},
    {"time":1700000060,"cpu":null,"memused":"NaN"}
  ])"));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 2u);
  EXPECT_DOUBLE_EQ((*r)[0].at("netout"), 800.25);
  EXPECT_DOUBLE_EQ((*r)[0].at("pressurecpusome"), 0.02);
  EXPECT_EQ((*r)[0].count("pressureiofull"), 1u);
  EXPECT_EQ((*r)[1], (RrdRow{{"time", 1700000060}}));
}

TEST(Types, TaskStatusAndLog) {
  auto running = parse_task_status(fixture(R"({"upid":"UPID:pve1:0003F2A1:01B3C4D5:6745A3C1:qmigrate:100:root@pam:",
    "node":"pve1","pid":258721,"pstart":28558549,"starttime":1732617153,"type":"qmigrate","id":"100",
    "user":"root@pam","status":"running"})"));
  ASSERT_TRUE(running.ok());
  EXPECT_TRUE(running->running());
  EXPECT_FALSE(running->succeeded());
  EXPECT_EQ(running->starttime, 1732617153);
  auto ok = parse_task_status(fixture(R"({"status":"stopped","exitstatus":"OK"})"));
  EXPECT_TRUE(ok->succeeded());
  auto warn = parse_task_status(fixture(R"({"status":"stopped","exitstatus":"WARNINGS: 2"})"));
  EXPECT_TRUE(warn->succeeded());
  auto failed = parse_task_status(fixture(R"({"status":"stopped","exitstatus":"migration aborted"})"));
  EXPECT_FALSE(failed->succeeded());
  auto log = parse_task_log(fixture(R"J([{"n":1,"t":"starting migration of VM 100 to node 'pve2'"},
    {"n":2,"t":"migration finished successfully (duration 00:00:12)"},{"n":3,"t":"TASK OK"}])J"));
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[2].t, "TASK OK");
}

TEST(Types, StorageAnswers) {
  auto configs = parse_storage_configs(fixture(R"([
    {"storage":"local","type":"dir","path":"/var/lib/vz","content":"iso,vztmpl,backup","digest":"x"},
    {"storage":"nfs1","type":"nfs","content":"images,rootdir","shared":1,"nodes":"pve1,pve2","disable":1}])"));
  ASSERT_TRUE(configs.ok());
  EXPECT_EQ((*configs)[0].content, (std::vector<std::string>{"iso", "vztmpl", "backup"}));
  EXPECT_EQ((*configs)[1].nodes, (std::vector<std::string>{"pve1", "pve2"}));
  EXPECT_TRUE((*configs)[1].shared);
  EXPECT_TRUE((*configs)[1].disable);
  auto node = parse_node_storages(fixture(R"([{"storage":"local-lvm","type":"lvmthin","content":"rootdir,images",
    "active":1,"enabled":1,"shared":0,"total":"429496729600","used":107374182400,"avail":322122547200,
    "used_fraction":0.25}])"));
  ASSERT_EQ(node->size(), 1u);
  EXPECT_EQ((*node)[0].total, 429496729600u);
  EXPECT_DOUBLE_EQ((*node)[0].used_fraction, 0.25);
  auto content = parse_storage_content(fixture(R"([
    {"volid":"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst","content":"vztmpl","format":"tzst",
     "size":126371786,"ctime":1718000000},
    {"volid":"local-lvm:vm-101-disk-0","content":"rootdir","format":"raw","size":8589934592,"vmid":"101",
     "protected":1}])"));
  ASSERT_EQ(content->size(), 2u);
  EXPECT_EQ((*content)[0].format, "tzst");
  EXPECT_EQ((*content)[1].vmid, 101);
  EXPECT_TRUE((*content)[1].protected_);
}

TEST(Types, HaResourcesRulesAndManagerStatus) {
  auto res = parse_ha_resources(fixture(R"([{"sid":"vm:100","state":"started","max_restart":1,
    "max_relocate":1,"digest":"d"},{"sid":"ct:101","type":"ct","state":"disabled","failback":0}])"));
  ASSERT_EQ(res->size(), 2u);
  EXPECT_EQ((*res)[0].type, "vm") << "derived from the sid";
  EXPECT_TRUE((*res)[0].failback);
  EXPECT_FALSE((*res)[1].failback);
  auto rules = parse_ha_rules(fixture(R"([
    {"rule":"keep-web-apart","type":"resource-affinity","affinity":"negative","resources":"vm:100,vm:102"},
    {"rule":"db-on-fast","type":"node-affinity","nodes":"pve1:2,pve2:1,pve3","resources":"vm:200",
     "strict":1,"disable":0,"comment":"fast disks"}])"));
  ASSERT_EQ(rules->size(), 2u);
  EXPECT_EQ((*rules)[0].affinity, "negative");
  EXPECT_EQ((*rules)[0].resources, (std::vector<std::string>{"vm:100", "vm:102"}));
  ASSERT_EQ((*rules)[1].nodes.size(), 3u);
  EXPECT_EQ((*rules)[1].nodes[0].node, "pve1");
  EXPECT_EQ((*rules)[1].nodes[0].priority, 2);
  EXPECT_EQ((*rules)[1].nodes[2].priority, 0);
  EXPECT_TRUE((*rules)[1].strict);
  auto ms = parse_ha_manager_status(fixture(R"({
    "manager_status":{"master_node":"pve1","timestamp":1732617153,
      "node_status":{"pve1":"online","pve2":"maintenance"},
      "service_status":{"vm:100":{"node":"pve1","state":"started","uid":"abc","running":1},
                        "vm:102":{"node":"pve1","state":"migrate","target":"pve2"}}},
    "quorum":{"node":"pve1","quorate":"1"},"lrm_status":{}})"));
  ASSERT_TRUE(ms.ok());
  EXPECT_EQ(ms->master_node, "pve1");
  EXPECT_TRUE(ms->quorate);
  EXPECT_EQ(ms->node_status.at("pve2"), "maintenance");
  EXPECT_EQ(ms->services.at("vm:102").target, "pve2");
  EXPECT_EQ(ms->services.at("vm:100").state, "started");
  auto mig = parse_ha_migrate_result(fixture(R"({"sid":"vm:100","requested-node":"pve2",
    "blocking-resources":[{"sid":"vm:101","cause":"resource-affinity"}],"comigrated-resources":["vm:103"]})"));
  ASSERT_TRUE(mig.ok());
  EXPECT_EQ(mig->requested_node, "pve2");
  ASSERT_EQ(mig->blocking_resources.size(), 1u);
  EXPECT_EQ(mig->blocking_resources[0].cause, "resource-affinity");
  EXPECT_EQ(mig->comigrated_resources, (std::vector<std::string>{"vm:103"}));
}

TEST(Types, VersionSnapshotsAndPools) {
  auto v = parse_version(fixture(R"({"version":"9.1.1","release":"9.1","repoid":"42b13ee6f0e9d0f3"})"));
  EXPECT_EQ(v->release, "9.1");
  auto snaps = parse_snapshots(fixture(R"([{"name":"before-upgrade","description":"pre 9.1","snaptime":1732600000},
    {"name":"current","parent":"before-upgrade","running":1,"digest":"x"}])"));
  ASSERT_EQ(snaps->size(), 2u);
  EXPECT_EQ((*snaps)[1].parent, "before-upgrade");
  EXPECT_EQ((*snaps)[1].snaptime, 0);
  auto pools = parse_pools(fixture(R"([{"poolid":"prod","comment":"production",
    "members":[{"id":"qemu/100","type":"qemu","vmid":100,"node":"pve1"}]},{"poolid":"empty"}])"));
  ASSERT_EQ(pools->size(), 2u);
  ASSERT_EQ((*pools)[0].members.size(), 1u);
  EXPECT_EQ((*pools)[0].members[0].vmid, 100);
}

// GET /cluster/options as PVE 9.2 answers it: datacenter.cfg's crs property
// string parsed into an object, booleans as 0/1.
TEST(Types, CrsOptions) {
  auto on = parse_crs_options(fixture(R"({"crs": {"ha": "dynamic", "ha-auto-rebalance": 1,
      "ha-auto-rebalance-threshold": 0.3, "ha-rebalance-on-start": 0}, "keyboard": "en-us"})"));
  ASSERT_TRUE(on.ok());
  EXPECT_EQ(on->ha, "dynamic");
  EXPECT_TRUE(on->auto_rebalance);
  EXPECT_FALSE(on->rebalance_on_start);
  auto unset = parse_crs_options(fixture(R"({"keyboard": "en-us"})"));
  ASSERT_TRUE(unset.ok());
  EXPECT_EQ(unset->ha, "basic");
  EXPECT_FALSE(unset->auto_rebalance);
  EXPECT_FALSE(parse_crs_options(fixture("[]")).ok());
}


}  // namespace
}  // namespace pvekit::pve
