// btrfs driver: a snapshot is a read-only snapshot of the rootfs subvolume in
// the container's snapshot directory; a rollback swaps a writable snapshot of
// it in for the rootfs subvolume.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>

#include "core/log.h"
#include "snapshot/driver.h"

namespace pvekit::snapshot {

using core::Error;
using core::ErrorCategory;
namespace fs = std::filesystem;

namespace {

// Creation time from statx; 0 when the file system does not report it.
int64_t birth_time(const std::string& path) {
  struct statx sx {};
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_BTIME, &sx) != 0 || !(sx.stx_mask & STATX_BTIME)) return 0;
  return sx.stx_btime.tv_sec;
}

class BtrfsDriver final : public Driver {
 public:
  BtrfsDriver(core::CommandRunner& runner, const CheckpointConfig& config)
      : runner_(runner), btrfs_(config.btrfs_command), dir_template_(config.btrfs_snapshot_dir) {}

  DriverKind kind() const override { return DriverKind::Btrfs; }
  bool needs_freeze() const override { return true; }

  core::Status create(const Target& t, const std::string& name) override {
    PVEKIT_TRY(validate_snapshot_name(name));
    PVEKIT_TRY(require_subvolume(t.rootfs));
    const std::string dir = snapshot_dir(t), path = dir + "/" + name;
    std::error_code ec;
    if (fs::exists(path, ec))
      return Error(ErrorCategory::Conflict, "btrfs snapshot " + name + " of " + t.id + " exists already (" + path + ")");
    fs::create_directories(dir, ec);
    if (ec) return Error(ErrorCategory::System, "create snapshot directory " + dir + ": " + ec.message());
    return btrfs({"subvolume", "snapshot", "-r", t.rootfs, path});
  }

  core::Status rollback(const Target& t, const std::string& name, bool) override {
    PVEKIT_ASSIGN(auto snap, existing(t, name));
    PVEKIT_TRY(require_subvolume(t.rootfs));
    const std::string fresh = t.rootfs + ".rollback", old = t.rootfs + ".replaced";
    // Leftovers of an interrupted rollback are ours to clear.
    for (const auto& stale : {fresh, old})
      if (fs::exists(stale)) PVEKIT_TRY(btrfs({"subvolume", "delete", stale}));
    PVEKIT_TRY(btrfs({"subvolume", "snapshot", snap, fresh}));
    std::error_code ec;
    fs::rename(t.rootfs, old, ec);
    if (ec) {
      if (auto undo = btrfs({"subvolume", "delete", fresh}); !undo.ok())
        spdlog::warn("rollback {}: {}", t.id, undo.error().to_string());  // the rename error is the one to report
      return Error(ErrorCategory::System, "rollback " + t.id + ": move " + t.rootfs + " aside: " + ec.message());
    }
    fs::rename(fresh, t.rootfs, ec);
    if (ec) {
      std::error_code back;
      fs::rename(old, t.rootfs, back);
      return Error(ErrorCategory::System, "rollback " + t.id + ": put " + fresh + " in place: " + ec.message());
    }
    return btrfs({"subvolume", "delete", old}).wrap("rollback " + t.id + ": remove the replaced rootfs");
  }

  core::Result<std::vector<SnapshotInfo>> list(const Target& t) override {
    std::vector<SnapshotInfo> out;
    const std::string dir = snapshot_dir(t);
    std::error_code ec;
    if (!fs::exists(dir, ec)) return out;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!entry.is_directory()) continue;
      const std::string name = entry.path().filename().string();
      if (!validate_snapshot_name(name).ok()) continue;  // not one of ours
      out.push_back({name, birth_time(entry.path().string())});
    }
    if (ec) return Error(ErrorCategory::System, "list snapshots in " + dir + ": " + ec.message());
    std::sort(out.begin(), out.end(), [](const SnapshotInfo& a, const SnapshotInfo& b) {
      return a.created != b.created ? a.created < b.created : a.name < b.name;
    });
    return out;
  }

  core::Status remove(const Target& t, const std::string& name) override {
    PVEKIT_ASSIGN(auto snap, existing(t, name));
    return btrfs({"subvolume", "delete", snap});
  }

 private:
  std::string snapshot_dir(const Target& t) const {
    return expand_template(dir_template_, {{"id", t.id}, {"rootfs", t.rootfs}});
  }

  core::Result<std::string> existing(const Target& t, const std::string& name) {
    PVEKIT_TRY(validate_snapshot_name(name));
    std::string path = snapshot_dir(t) + "/" + name;
    std::error_code ec;
    if (!fs::is_directory(path, ec))
      return Error(ErrorCategory::NotFound, "btrfs snapshot " + name + " of " + t.id + " does not exist (" + path + ")");
    return path;
  }

  core::Status require_subvolume(const std::string& rootfs) {
    auto shown = runner_.run({btrfs_, "subvolume", "show", rootfs});
    if (!shown.ok()) return std::move(shown).error();
    if (shown->exit_status != 0)
      return Error(ErrorCategory::Usage, "rootfs " + rootfs +
                                             " is not a btrfs subvolume, so the btrfs driver cannot snapshot it "
                                             "(make it one with `btrfs subvolume create`)");
    return core::ok();
  }

  core::Status btrfs(std::vector<std::string> args) {
    args.insert(args.begin(), btrfs_);
    auto r = core::run_checked(runner_, args);
    if (!r.ok()) return std::move(r).error();
    return core::ok();
  }

  core::CommandRunner& runner_;
  std::string btrfs_;
  std::string dir_template_;
};

}  // namespace

std::unique_ptr<Driver> make_btrfs_driver(core::CommandRunner& runner, const CheckpointConfig& config) {
  return std::make_unique<BtrfsDriver>(runner, config);
}

}  // namespace pvekit::snapshot
