#pragma once

// A valid, small config.json for spec tests to patch. Header-only, since
// every tests/unit/support/*.cpp is linked into every unit test binary.

#include "core/json.h"

namespace pvekit::testing {

inline core::Json base_config() {
  return core::Json::parse(R"({
    "ociVersion": "1.0.2",
    "process": {"terminal": false, "user": {"uid": 0, "gid": 0}, "args": ["sh"], "env": ["PATH=/bin"], "cwd": "/"},
    "root": {"path": "rootfs", "readonly": true},
    "hostname": "box",
    "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "uts"}]}
  })");
}

}  // namespace pvekit::testing
