#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pve/oci_archive.h"

namespace pvekit::sim {

enum class GuestType { Qemu, Lxc };

// "qemu" / "lxc" as in API paths; "vm" / "ct" as in HA service ids.
std::string_view type_path(GuestType type);
std::string_view ha_prefix(GuestType type);

// Deterministic load shape of one guest. Fractions are of the guest's own
// limits: cpu of its cores, memory of its maxmem. The daily sine peaks at
// `peak_hour` (UTC); noise is a seeded hash, so the same (seed, vmid, time)
// always gives the same figures.
struct LoadProfile {
  double cpu = 0.15;       // mean cpu fraction
  double cpu_amp = 0.08;   // daily sine amplitude (fraction)
  double mem = 0.5;        // mean memory fraction
  double mem_amp = 0.05;   // daily sine amplitude (fraction)
  double noise = 0.04;     // +- uniform noise (fraction)
  double peak_hour = 14;   // hour of day (UTC) of the daily maximum
  double net = 2e5;        // mean network bytes/s in and out
  double io = 1e5;         // mean disk bytes/s read and written
  // Growth and the weekly cycle (proxlb capacity's forecasts): the means
  // above hold at `trend_origin` (Unix seconds, the scenario's load time)
  // and change by *_trend per day before and after it; the weekly cosine
  // peaks on `weekly_peak_day` (0 = Monday, UTC).
  double cpu_trend = 0;       // fraction of the cores per day
  double mem_trend = 0;       // fraction of maxmem per day
  double cpu_weekly_amp = 0;  // fraction
  double mem_weekly_amp = 0;  // fraction
  double weekly_peak_day = 2;
  // The guest's volume fills this fraction of its disk on its storage, and
  // changes by disk_trend per day (storage rrddata; proxlb capacity's disk
  // forecast).
  double disk = 0.6;
  double disk_trend = 0;
  double trend_origin = 0;
};

// What a snapshot keeps of its guest's configuration (PVE stores the whole
// config section; rollback puts it back).
struct SnapshotConfig {
  std::string name;
  int cpus = 1;
  uint64_t maxmem = 0, swap = 0, maxdisk = 0;
  std::string tags;
  std::map<std::string, std::string> config;
};

struct Snapshot {
  std::string name;
  std::string description;
  int64_t snaptime = 0;  // Unix seconds
  std::string parent;
  SnapshotConfig saved;
};

struct Guest {
  int vmid = 0;
  GuestType type = GuestType::Qemu;
  std::string name;
  std::string node;
  std::string status = "running";  // running | stopped | paused (qemu) / frozen lxc shows "running"
  bool suspended = false;          // lxc freeze / qemu pause
  int cpus = 1;
  uint64_t maxmem = 0;   // bytes
  uint64_t swap = 0;     // bytes (lxc)
  uint64_t maxdisk = 0;  // bytes, the root disk
  std::string storage;   // storage id of the root disk
  std::string tags;      // stored form, ';'-separated
  std::string pool;
  bool is_template = false;
  std::string lock;      // "" or migrate, snapshot, create, ...
  double started_at = 0;  // Unix seconds of the last start (uptime)
  LoadProfile load;
  std::map<std::string, std::string> config;  // extra config keys (net0, ostype, ...)
  std::vector<Snapshot> snapshots;
};

struct Node {
  std::string name;
  int nodeid = 1;
  std::string ip;
  int cpus = 8;
  uint64_t memory = 0;   // bytes
  uint64_t rootfs = 0;   // bytes
  uint64_t swap = 0;     // bytes
  double base_cpu = 0.02;     // host's own cpu fraction
  uint64_t base_mem = 0;      // host's own memory use, bytes
  bool online = true;
  double boot_time = 0;       // Unix seconds
  std::string cpu_model = "AMD EPYC 7313 16-Core Processor";
};

struct Storage {
  std::string id;
  std::string type = "dir";          // dir, lvmthin, rbd, nfs, zfspool, ...
  std::vector<std::string> content;  // images, rootdir, iso, vztmpl, backup, import
  bool shared = false;
  std::vector<std::string> nodes;    // empty: all nodes
  uint64_t total = 0;                // bytes (per node for local storages)
  std::string path;
};

// A vztmpl .tar that PVE 9.1 would take for an OCI image archive.
struct OciTemplate {
  std::optional<pve::OciImageConfig> image;
  std::string error;  // why the image cannot be used (set when image is not)
};

struct Volume {
  std::string volid;    // "local:vztmpl/debian-12.tar.zst"
  std::string content;  // vztmpl, iso, import, images, rootdir, backup
  std::string format;   // raw, qcow2, tzst, tar, iso, subvol, ...
  uint64_t size = 0;
  int64_t ctime = 0;
  int vmid = 0;         // 0: not owned by a guest
  std::optional<OciTemplate> oci;
};

struct HaResource {
  std::string sid;  // "vm:100" / "ct:101"
  std::string state = "started";
  int max_restart = 1;
  int max_relocate = 1;
  std::string comment;
  std::string group;  // PVE 8 HA group ("" without)
};

// A PVE 8 HA group (/cluster/ha/groups); PVE 9 replaced them with rules but
// PVE 8 clients still read them.
struct HaGroup {
  std::string id;
  std::vector<std::string> nodes;  // "node[:priority]"
  bool restricted = false;
  bool nofailback = false;
  std::string comment;
};

// PVE 9 HA rules (/cluster/ha/rules).
struct HaRule {
  std::string id;
  std::string type;                    // node-affinity | resource-affinity
  std::vector<std::string> resources;  // sids
  std::vector<std::string> nodes;      // node-affinity: "node[:priority]"
  std::string affinity;                // resource-affinity: positive | negative
  bool strict = false;
  bool disable = false;
  std::string comment;
};

struct Pool {
  std::string id;
  std::string comment;
  std::vector<std::string> storages;
};

struct ApiToken {
  std::string id;      // token name, the part after '!'
  std::string secret;  // never logged
  std::string comment;
  // Privilege separation: 1 = only the token's own ACLs, intersected with
  // its user's privileges; 0 = its user's privileges. PVE's user.cfg reads a
  // missing flag as 0, its API creates tokens with 1.
  bool privsep = false;
  int64_t expire = 0;  // Unix seconds, 0 = never
};

struct User {
  std::string userid;    // user@realm
  std::string password;  // never logged
  std::vector<ApiToken> tokens;
  std::vector<std::string> groups;  // group ids, the one record of membership
  bool enable = true;
  int64_t expire = 0;
  std::string comment, email, firstname, lastname;
};

struct Group {
  std::string id;
  std::string comment;
};

// One ACL entry as PVE's user.cfg holds it ("acl:1:/vms/100:alice@pve:PVEVMUser:").
struct AclEntry {
  enum class Kind { User, Group, Token };
  std::string path;  // normalised ("/vms/100")
  Kind kind = Kind::User;
  std::string ugid;  // userid, group id or "user@realm!token"
  std::string role;
  bool propagate = true;
};

// Users, groups, custom roles and ACLs (PVE's user.cfg). The built-in roles
// are not stored: see sim/permissions.h.
struct AccessControl {
  std::vector<User> users;
  std::vector<Group> groups;
  std::map<std::string, std::vector<std::string>> roles;  // custom role -> privileges
  std::vector<AclEntry> acl;

  User* find_user(const std::string& userid);
  const User* find_user(const std::string& userid) const;
  const Group* find_group(const std::string& id) const;
};

// The whole simulated cluster as plain data.
struct Cluster {
  std::string name = "pvesim";
  uint64_t seed = 1;
  bool quorate = true;
  std::vector<Node> nodes;
  std::map<int, Guest> guests;
  std::vector<Storage> storages;
  // Key: "<storage>" for shared storages, "<node>/<storage>" for local ones.
  std::map<std::string, std::vector<Volume>> volumes;
  std::vector<HaResource> ha_resources;
  std::vector<HaRule> ha_rules;
  std::vector<HaGroup> ha_groups;
  std::vector<Pool> pools;
  // datacenter.cfg: option -> value as written in the file (property strings
  // such as crs "ha=static,ha-rebalance-on-start=1" as text).
  std::map<std::string, std::string> datacenter;
  AccessControl access;

  Node* find_node(const std::string& name);
  const Node* find_node(const std::string& name) const;
  // The node pvesim answers as, the one /cluster/status marks `local`: the
  // first. nullptr without nodes.
  const Node* local_node() const { return nodes.empty() ? nullptr : &nodes.front(); }
  Guest* find_guest(int vmid);
  const Guest* find_guest(int vmid) const;
  const Storage* find_storage(const std::string& id) const;
  const HaResource* find_ha(const std::string& sid) const;
  bool storage_on_node(const Storage& storage, const std::string& node) const;
  // The key of `volumes` for a storage as seen from `node`.
  static std::string volume_key(const Storage& storage, const std::string& node);
};

std::string ha_sid(const Guest& guest);

}  // namespace pvekit::sim
