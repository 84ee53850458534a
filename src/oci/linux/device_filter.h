#pragma once

// Device access control on cgroup v2, where there is no devices.allow file:
// the rules become an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE that
// the kernel runs on every open/mknod of a device node by a task in the
// cgroup (as runc's devicefilter and crun's ebpf.c do).

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "core/result.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

// The rules a container's cgroup enforces, in order: linux.resources.devices,
// then runc's always-allowed devices (libcontainer/specconv AllowedDevices),
// so those cannot be taken away, as with runc. Empty when the spec gives no
// rules (the cgroup then inherits its parent's policy, on v1 and v2 alike).
std::vector<DeviceRule> effective_device_rules(const std::vector<DeviceRule>& spec_rules);

// The program for `rules`: the last rule matching (type, major, minor) and
// covering every requested access decides, as a later devices.allow/deny
// write overrides an earlier one on v1; no match denies. Pure, so the
// translation is tested by interpreting the instructions.
std::vector<bpf_insn> device_filter_program(const std::vector<DeviceRule>& rules);

// Loads `program` and attaches it to the cgroup v2 directory `cgroup_dir`,
// then detaches the device programs that were attached there before (an
// update replaces the policy, never weakens it in between). Needs
// CAP_SYS_ADMIN (CAP_BPF) and a kernel with CONFIG_CGROUP_BPF.
core::Status attach_device_filter(const std::string& cgroup_dir, const std::vector<bpf_insn>& program);

}  // namespace pvekit::oci::linux
