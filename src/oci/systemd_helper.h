#pragma once

// The systemd cgroup driver's D-Bus client, sd-bus from libsystemd, is the
// helper executable lxcri-systemd (helper.h): run by the commands that talk
// to systemd, never by those that only read or write cgroup files.
//
// Protocol, one call per run:
//   lxcri-systemd start-transient-unit UNIT   properties on stdin
//   lxcri-systemd set-unit-properties UNIT    properties on stdin
//   lxcri-systemd stop-unit UNIT
// The properties are unit_properties_to_json's array. Exit status 0 is
// success; otherwise standard error holds the error ("systemd: ...").

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/result.h"
#include "oci/linux/systemd_cgroup.h"

namespace pvekit::oci {

// A SystemdBus whose calls run this lxcri's helper; fails at once, naming
// the helper, when it cannot be executed.
core::Result<std::unique_ptr<linux::SystemdBus>> connect_systemd();

// The same over the helper at `path` (tests point it elsewhere).
core::Result<std::unique_ptr<linux::SystemdBus>> connect_systemd_helper(const std::string& path);

// The helper's side: runs the call `args` (the words after argv[0]) names
// with the properties `input` on `bus` and returns the exit status, the
// error written to `err`. `connect` is called only for a well-formed call.
int serve_systemd_call(const std::vector<std::string>& args, const std::string& input,
                       const linux::SystemdConnector& connect, std::ostream& err);

}  // namespace pvekit::oci
