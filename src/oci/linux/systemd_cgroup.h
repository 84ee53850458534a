#pragma once

// The systemd cgroup driver (runc's --systemd-cgroup): the container's cgroup
// is a transient scope unit that systemd creates with Delegate=yes, its limits
// are unit properties, and the files systemd has no property for are written
// by the cgroup v2 manager below it. Everything here but SystemdBus is pure or
// file-level; the D-Bus client lives in a helper executable (systemd_helper.h),
// run only by the commands that talk to systemd (create, update, delete), so
// neither libsystemd nor a bus connection is in the way of the others.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/result.h"
#include "oci/linux/cgroups.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

// Where a container's scope goes: the slice, and the unit's own name.
struct SystemdUnitPath {
  std::string slice = "system.slice";
  std::string unit;  // "<prefix>-<name>.scope", or a "<name>.slice" the container gets to itself
};

// runc's systemd form of linux.cgroupsPath, "[slice]:[prefix]:[name]": an
// empty slice is system.slice, a name ending in .slice is taken as it is,
// anything else becomes "<prefix>-<name>.scope". An empty cgroupsPath is
// ":lxcri:<id>" (runc: ":runc:<id>"). Anything else, or a part with "/" or
// characters a unit name cannot have, is an error naming linux.cgroupsPath.
core::Result<SystemdUnitPath> parse_systemd_cgroups_path(const std::string& cgroups_path, const std::string& id);

// The unit's cgroup below the hierarchy root ("/system.slice/lxcri-x.scope").
core::Result<std::string> systemd_cgroup_path(const SystemdUnitPath& path);

// The cgroup of a slice as systemd lays it out: "a-b.slice" ->
// "/a.slice/a-b.slice", "-.slice" -> "/" (runc's ExpandSlice).
core::Result<std::string> expand_slice(const std::string& slice);

// A unit property for StartTransientUnit/SetUnitProperties, with the D-Bus
// type systemd expects for it: b, t (uint64), s, ay (cpu/node masks),
// a(ss) (DeviceAllow) or au (PIDs).
using DeviceAllowEntry = std::pair<std::string, std::string>;  // (path or group, "rwm")
using UnitPropertyValue = std::variant<bool, uint64_t, std::string, std::vector<uint8_t>,
                                       std::vector<DeviceAllowEntry>, std::vector<uint32_t>>;
struct UnitProperty {
  std::string name;
  UnitPropertyValue value;
  bool operator==(const UnitProperty&) const = default;
};

// The form unit properties cross to the helper lxcri-systemd in
// (systemd_helper.h): a JSON array of {"name", "type", "value"} objects, the
// type being the property's D-Bus signature (b, t, s, ay, a(ss), au).
std::string unit_properties_to_json(const std::vector<UnitProperty>& properties);
// Reads that form back; anything else (another type, a value that does not
// fit it, a missing name) is a Usage error naming the entry's index.
core::Result<std::vector<UnitProperty>> unit_properties_from_json(const std::string& text);

// systemd's USEC_INFINITY / CGROUP_LIMIT_MAX: "max" in a cgroup file.
inline constexpr uint64_t kSystemdInfinity = UINT64_MAX;

// The unit properties for the cgroup v2 files `writes` (v2_writes), as runc
// maps them: memory.max/high/low/min/swap.max -> Memory*, cpu.weight ->
// CPUWeight, cpu.max -> CPUQuotaPerSecUSec (rounded up to 10 ms, as systemd
// keeps whole percents) and CPUQuotaPeriodUSec, cpuset.cpus/mems ->
// AllowedCPUs/AllowedMemoryNodes, pids.max -> TasksMax, io.weight "default N"
// -> IOWeight. Files without a property are left to the v2 manager. A value
// systemd cannot take is an error naming the file.
core::Result<std::vector<UnitProperty>> systemd_resource_properties(
    const std::vector<std::pair<std::string, std::string>>& writes);

// /proc/devices' group name of a device major ("char-pts"), "" when none.
using DeviceGroupOf = std::function<std::string(char type, int64_t major)>;
// DevicePolicy and DeviceAllow for the rules the container's cgroup enforces
// (effective_device_rules): an allow-list after a deny-all becomes
// DevicePolicy=strict with one DeviceAllow entry per rule ("/dev/char/M:N",
// a /proc/devices group for "M:*", "char-*" for "*:*"); allow-all becomes
// DevicePolicy=auto with none. Rules systemd cannot express (deny rules after
// allows, "*:N") give no device properties at all: the eBPF filter the v2
// manager attaches enforces every rule anyway, and runc's answer, a temporary
// deny-all, breaks the container instead.
std::vector<UnitProperty> systemd_device_properties(const std::vector<DeviceRule>& rules,
                                                    const DeviceGroupOf& group_of);
// /proc/devices of this host.
std::string proc_devices_group(char type, int64_t major);

// Whether systemd is this host's init (sd_booted(3): /run/systemd/system).
bool systemd_booted();

// The properties of a new scope holding `pid`: Description, Slice, PIDs,
// Delegate, the four *Accounting switches and DefaultDependencies=no, as runc.
std::vector<UnitProperty> scope_properties(const std::string& id, const SystemdUnitPath& path, pid_t pid);

// systemd's manager API, as far as the driver uses it. The implementation is
// the helper's sd-bus client; tests use a fake.
class SystemdBus {
 public:
  virtual ~SystemdBus() = default;
  // StartTransientUnit in "fail" mode, waiting for its job; a failed unit
  // left from before under the same name is reset and the start retried once.
  virtual core::Status start_transient_unit(const std::string& unit, const std::vector<UnitProperty>& properties) = 0;
  // SetUnitProperties (runtime only, as runc).
  virtual core::Status set_unit_properties(const std::string& unit, const std::vector<UnitProperty>& properties) = 0;
  // StopUnit, waiting for its job, then ResetFailedUnit; a unit systemd does
  // not know is already stopped.
  virtual core::Status stop_unit(const std::string& unit) = 0;
};

// The sd-bus client: systemd's private socket when we are root, else the
// system bus. Fails, saying so, where systemd is not the host's init. Only in
// the helper lxcri-systemd (systemd_bus.cpp; oci/systemd_helper.h).
core::Result<std::unique_ptr<SystemdBus>> connect_sd_bus();

// Opens the connection when first needed (never for pause, ps, kill or stats).
using SystemdConnector = std::function<core::Result<std::unique_ptr<SystemdBus>>()>;

// The systemd driver's manager for the container `id`: the cgroup is
// <root><expand_slice(slice)>/<unit>. `unit_exists` is false only for the
// create that will start the scope: its apply() keeps the resources for
// spawn_inside, which starts the scope with the child's pid and them.
core::Result<std::unique_ptr<CgroupManager>> make_systemd_cgroup_manager(std::string root, std::string id,
                                                                         SystemdUnitPath path, SystemdConnector connect,
                                                                         bool unit_exists);

}  // namespace pvekit::oci::linux
