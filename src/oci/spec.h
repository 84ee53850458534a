#pragma once

// The OCI runtime-spec config.json model (runtime-spec v1.1, config.md and
// config-linux.md), parsed with per-field validation. Field names in errors
// use the JSON spelling and index notation ("mounts[2].destination").

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace pvekit::oci {

using core::Json;

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE", ...
  uint64_t soft = 0;
  uint64_t hard = 0;
};

// The five capability sets; names like "CAP_KILL".
struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Process {
  bool terminal = false;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
  std::string apparmor_profile;  // applied at execve where AppArmor is enabled (lsm.h)
  std::string selinux_label;
};

struct Root {
  std::string path;  // relative to the bundle or absolute
  bool readonly = false;
};

struct Mount {
  std::string destination;  // absolute path inside the container
  std::string type;
  std::string source;
  std::vector<std::string> options;
};

struct Hook {
  std::string path;  // absolute path on the host (or in the container for startContainer)
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart, create_runtime, create_container, start_container, poststart,
      poststop;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // empty: create a new one; else join the namespace at this path
};

struct IdMapping {
  uint32_t container_id = 0;
  uint32_t host_id = 0;
  uint32_t size = 0;
};

struct Device {
  std::string path;  // absolute path inside the container
  std::string type;  // c, b, u or p
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

struct DeviceRule {
  bool allow = false;
  std::string type = "a";  // a, c or b
  std::optional<int64_t> major, minor;  // nullopt: any ("*")
  std::string access = "rwm";
};

struct MemoryResources {
  std::optional<int64_t> limit;  // bytes; -1 unlimited
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;  // memory+swap, bytes
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;
};

struct CpuResources {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;  // microseconds per period; -1 unlimited
  std::optional<uint64_t> period;  // microseconds
  std::string cpus;  // cpuset list "0-1"
  std::string mems;
  std::optional<int64_t> idle;  // cpu.idle: 1 is SCHED_IDLE for the whole cgroup
};

struct BlockIoWeightDevice {
  int64_t major = 0, minor = 0;
  std::optional<uint16_t> weight, leaf_weight;
};

struct BlockIoThrottleDevice {
  int64_t major = 0, minor = 0;
  uint64_t rate = 0;  // bytes or operations per second
};

struct BlockIoResources {
  std::optional<uint16_t> weight, leaf_weight;  // 10..1000
  std::vector<BlockIoWeightDevice> weight_devices;
  std::vector<BlockIoThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops, throttle_write_iops;
};

struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB", as the hugetlb file names spell it
  uint64_t limit = 0;     // bytes
};

struct NetworkResources {
  std::optional<uint32_t> class_id;
  std::vector<std::pair<std::string, uint32_t>> priorities;  // interface -> priority
};

struct RdmaLimit {
  std::optional<uint32_t> hca_handles, hca_objects;
};

struct Resources {
  std::vector<DeviceRule> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<int64_t> pids_limit;  // 0 or -1: unlimited
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::optional<NetworkResources> network;
  std::map<std::string, RdmaLimit> rdma;  // device name -> limits
  std::map<std::string, std::string> unified;  // cgroup v2 file -> value, written last
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ, ...
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_*
  std::optional<uint32_t> errno_ret;
  std::vector<SeccompArg> args;
};

struct Seccomp {
  std::string default_action;
  std::optional<uint32_t> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::vector<SeccompSyscall> syscalls;
  // SCMP_ACT_NOTIFY: the runtime sends the listener fd with the containerProcessState
  // (runtime-spec runtime.md) to the agent on this AF_UNIX socket; metadata is opaque to us.
  std::string listener_path;
  std::string listener_metadata;

  bool uses_notify() const;
};

struct LinuxConfig {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;  // "", private, rprivate, slave, rslave, shared, rshared, unbindable, runbindable
  std::string mount_label;         // SELinux context of the container's tmpfs, devpts and mqueue mounts
  std::vector<std::string> masked_paths, readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;

  bool has_namespace(const std::string& type) const;
  // The namespace entry of this type, or nullptr.
  const Namespace* find_namespace(const std::string& type) const;
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  Root root;
  std::vector<Mount> mounts;
  std::string hostname, domainname;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  std::optional<LinuxConfig> linux;
};

// Parses and validates a config.json document. Config errors name the field,
// e.g. "mounts[1].destination: must be an absolute path". Every value is
// checked against the C type it ends up in: numbers must be integers in range
// ("process.user.uid: 1e999 is not an integer in 0..4294967295"), strings must
// hold no NUL byte, and a wrong JSON type is an error, never an exception.
core::Result<Spec> parse_spec(const Json& doc);
// The same from config.json text; here a number error quotes the literal as
// written (1e999, 1.50), even one no double can hold.
core::Result<Spec> parse_spec_text(const std::string& text);
// Reads <bundle>/config.json.
core::Result<Spec> load_spec(const std::string& bundle);

// Semantic checks on a parsed spec (paths, namespaces, names, ...).
core::Status validate_spec(const Spec& spec);

// Known names, used by validation and by `features`.
const std::vector<std::string>& known_namespaces();
const std::vector<std::string>& known_capabilities();
const std::vector<std::string>& known_rlimits();
const std::vector<std::string>& known_seccomp_actions();
const std::vector<std::string>& known_seccomp_operators();
const std::vector<std::string>& known_seccomp_flags();
const std::vector<std::string>& known_hooks();

// Error-message helpers shared by the parser and validate_spec.
// The field path of a member of a JSON object: "linux.sysctl.net.ipv4.ip_forward";
// a key that is empty or has anything but printable ASCII other than quotes,
// backslashes and brackets is quoted: `annotations["a\u0000b"]`.
std::string field_member(const std::string& base, const std::string& key);
// A string as an ASCII JSON string literal (quotes, control characters and
// non-ASCII escaped), safe to print.
std::string quote_value(const std::string& text);

// True when `path` has a ".." component.
bool has_dotdot(const std::string& path);

// runc's default config.json (`spec`), and its `--rootless` variant with
// user-namespace mappings for the given host uid/gid.
Json default_spec();
Json rootless_spec(uint32_t host_uid, uint32_t host_gid);

}  // namespace pvekit::oci
