#pragma once

// Cgroup management behind one interface, for v1 (one hierarchy per
// controller), v2 (unified) and hybrid hosts (v1 controllers plus an empty
// unified tree: driven as v1). Everything takes the cgroup root as a path
// (normally /sys/fs/cgroup), so tests run against temp trees.

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "oci/spec.h"

namespace pvekit::oci::linux {

enum class CgroupLayout { V1, V2, Hybrid };
std::string_view to_string(CgroupLayout layout);

// V2 when <root>/cgroup.controllers exists; Hybrid when v1 controller
// directories exist and <root>/unified/cgroup.controllers does; V1 when only
// controller directories exist. Error when none of these holds.
core::Result<CgroupLayout> detect_cgroup_layout(const std::string& root);

// The cgroup path for a container: linux.cgroupsPath made absolute ("a/b" ->
// "/a/b"), or "/lxcri/<id>" when empty, for the cgroupfs driver. systemd's
// "slice:prefix:name" paths are refused: they need --systemd-cgroup
// (systemd_cgroup.h).
core::Result<std::string> resolve_cgroup_path(const std::string& cgroups_path, const std::string& id);

class CgroupManager {
 public:
  virtual ~CgroupManager() = default;
  // Creates the cgroup directories (missing parents too).
  virtual core::Status create() = 0;
  virtual core::Status apply(const Resources& resources) = 0;
  virtual core::Status add_process(pid_t pid) = 0;
  // As add_process, but into existing sub-cgroups (exec --cgroup): `sub` maps
  // a v1 controller, or "" for every controller (the only key on v2), to a
  // path below the container's cgroup (parse_sub_cgroups).
  virtual core::Status add_process(pid_t pid, const std::map<std::string, std::string>& sub) = 0;
  // Runs `spawn` (which forks and returns the child's pid, or -1 with errno)
  // so that the child is born in the cgroup (sub-cgroups as add_process).
  // On v1 the single-threaded caller moves itself there and back by writing
  // "0" to `tasks`: unlike a cgroup.procs write, that spares the kernel's
  // global threadgroup lock and its RCU grace period (3-15 ms per create here).
  // Where that cannot be done (threads, pids.max too low for the two of us,
  // v2), the child is moved after the fork. On failure no child is left.
  virtual core::Result<pid_t> spawn_inside(const std::map<std::string, std::string>& sub,
                                           const std::function<pid_t()>& spawn) = 0;
  virtual core::Status freeze() = 0;
  virtual core::Status thaw() = 0;
  // SIGKILLs every process of the cgroup and its sub-cgroups in one step, so
  // none can fork away meanwhile (cgroup.kill, Linux 5.14). False where that
  // is not available (v1, older kernels): callers freeze and signal instead.
  virtual core::Result<bool> kill_all() { return false; }
  // Pids in the cgroup and its sub-cgroups (memory or pids controller on v1).
  virtual core::Result<std::vector<pid_t>> pids() = 0;
  // Removes the leaf directories; already gone is fine. Fails with EBUSY
  // while processes remain (callers kill first).
  virtual core::Status destroy() = 0;
  // (host directory, name) pairs to bind at /sys/fs/cgroup/<name> inside the
  // container on v1; empty on v2.
  virtual std::vector<std::pair<std::string, std::string>> container_binds() const = 0;
  // Host directories of this cgroup (one per v1 controller, one on v2).
  virtual std::vector<std::string> dirs() const = 0;
};

// runc exec's --cgroup values, "[<controller>[,<controller>...]:]<path>",
// as a controller -> path map ("" for a value without controllers, which must
// then be the only one). Paths are relative to the container's cgroup and
// may not leave it.
core::Result<std::map<std::string, std::string>> parse_sub_cgroups(const std::vector<std::string>& values);

// `path` is absolute relative to the hierarchy roots ("/lxcri/ctr1").
std::unique_ptr<CgroupManager> make_cgroup_manager(CgroupLayout layout, const std::string& root,
                                                   const std::string& path);

// Whether the cgroup has a control file: the names of some depend on the
// kernel (blkio.weight with CFQ, blkio.bfq.weight with BFQ).
using HasControlFile = std::function<bool(const std::string& file)>;

// (file, value) writes in the order they are made.
using CgroupWrites = std::vector<std::pair<std::string, std::string>>;

// Writes needed for `resources`, as (file, value) pairs in order; pure, so the
// translation is testable without a cgroup tree. Without `has`, the plain
// (non-BFQ) names are used.
CgroupWrites v1_writes(const std::string& controller, const Resources& r, const HasControlFile& has = {});
// The same for cgroup v2, as runc 1.2's fs2 manager writes them and in its
// order: pids, memory, io, cpu, cpuset, hugetlb, rdma, then unified (last, so
// that it can override the rest). `has` tells BFQ from the io controller's
// own weight and leaves out files only some kernels have (memory.swap.max
// when it would only say "no limit", hugetlb.*.rsvd.max); without it every
// file is assumed. A value no cgroup v2 file can take (runc's error cases
// too, e.g. a swap limit without a memory limit) is an error naming its
// linux.resources field.
core::Result<CgroupWrites> v2_writes(const Resources& r, const HasControlFile& has = {});
// The parts of `r` cgroup v2 has no file for (logged, not applied, as runc does).
std::vector<std::string> v2_unsupported(const Resources& r);
// OCI memory.swap (memory+swap) as memory.swap.max wants it (swap alone):
// runc's ConvertMemorySwapToCgroupV2Value, with its error cases. -1 is "max",
// 0 "not set".
core::Result<int64_t> memory_swap_to_v2(int64_t memory_swap, int64_t memory);
// Why the v2 cgroup `path` below `root` has no `controller`: walks from the
// root down to the first level that does not pass it on, and says whether it
// lacks the controller itself, or has processes of its own (the "no internal
// processes" rule), or is threaded. Names that cgroup; "" when nothing is amiss.
std::string v2_missing_controller_reason(const std::string& root, const std::string& path,
                                         const std::string& controller);
// Waits until the flat-keyed `events_file` (cgroup.events) has the line
// `want` ("frozen 1"), woken by the kernel's notification on the file
// (poll POLLPRI) and re-reading at least every 50 ms. False on timeout.
bool wait_for_cgroup_event(const std::string& events_file, const std::string& want, int timeout_ms);
// The v1 controllers linux.resources can write to, in the order applied.
const std::vector<std::string>& v1_resource_controllers();
// cpu.shares (2..262144) -> cpu.weight (1..10000), the conversion runc and crun use.
uint64_t shares_to_weight(uint64_t shares);
// blkio weight (10..1000) -> io.weight (1..10000), as runc converts it.
uint64_t blkio_to_io_weight(uint16_t weight);

}  // namespace pvekit::oci::linux
