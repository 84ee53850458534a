// zfs driver: snapshots of the dataset holding the container's rootfs.
#include "snapshot/zfs.h"

#include <algorithm>

#include "core/strings.h"
#include "snapshot/driver.h"

namespace pvekit::snapshot {

using core::Error;
using core::ErrorCategory;

std::vector<std::string> zfs_list_snapshots_args(const std::string& zfs, const std::string& dataset) {
  return {zfs, "list", "-H", "-p", "-t", "snapshot", "-o", "name,creation", "-s", "creation", "-d", "1", dataset};
}

core::Result<std::vector<SnapshotInfo>> parse_zfs_snapshot_list(const std::string& text, const std::string& dataset) {
  std::vector<SnapshotInfo> out;
  const std::string prefix = dataset + "@";
  for (const std::string& line : core::split(text, '\n', true)) {
    auto fields = core::split(line, '\t');
    auto created = fields.size() == 2 ? core::parse_int(core::trim(fields[1])) : std::nullopt;
    if (!created || !core::starts_with(fields[0], prefix) || fields[0].size() == prefix.size())
      return Error(ErrorCategory::Parse, "zfs list: unexpected line \"" + line + "\" (want " + prefix +
                                             "NAME<TAB>SECONDS)");
    out.push_back({fields[0].substr(prefix.size()), *created});
  }
  return out;
}

namespace {

class ZfsDriver final : public Driver {
 public:
  ZfsDriver(core::CommandRunner& runner, const CheckpointConfig& config)
      : runner_(runner),
        zfs_(config.zfs_command),
        dataset_template_(config.zfs_dataset),
        destroy_newer_(config.zfs_destroy_newer) {}

  DriverKind kind() const override { return DriverKind::Zfs; }
  bool needs_freeze() const override { return true; }

  core::Status create(const Target& t, const std::string& name) override {
    PVEKIT_TRY(validate_snapshot_name(name));
    PVEKIT_ASSIGN(auto ds, dataset(t));
    PVEKIT_ASSIGN(auto have, find(ds, name));
    if (have) return Error(ErrorCategory::Conflict, "zfs snapshot " + ds + "@" + name + " exists already");
    return zfs({"snapshot", ds + "@" + name});
  }

  core::Status rollback(const Target& t, const std::string& name, bool) override {
    PVEKIT_ASSIGN(auto ds, existing(t, name));
    std::vector<std::string> args = {"rollback"};
    if (destroy_newer_) args.push_back("-r");
    args.push_back(ds + "@" + name);
    return zfs(args);
  }

  core::Result<std::vector<SnapshotInfo>> list(const Target& t) override {
    PVEKIT_ASSIGN(auto ds, dataset(t));
    return list_dataset(ds);
  }

  core::Status remove(const Target& t, const std::string& name) override {
    PVEKIT_ASSIGN(auto ds, existing(t, name));
    return zfs({"destroy", ds + "@" + name});
  }

 private:
  core::Result<std::string> dataset(const Target& t) {
    if (!dataset_template_.empty()) return expand_template(dataset_template_, {{"id", t.id}});
    PVEKIT_ASSIGN(auto out, core::run_checked(runner_, {zfs_, "list", "-H", "-o", "name", t.rootfs})
                                .wrap("find the zfs dataset of rootfs " + t.rootfs));
    std::string name(core::trim(out));
    if (name.empty() || name.find('\n') != std::string::npos)
      return Error(ErrorCategory::Parse, "zfs list -H -o name " + t.rootfs + ": expected one dataset, got \"" + out + "\"");
    return name;
  }

  core::Result<std::vector<SnapshotInfo>> list_dataset(const std::string& ds) {
    PVEKIT_ASSIGN(auto out, core::run_checked(runner_, zfs_list_snapshots_args(zfs_, ds)));
    return parse_zfs_snapshot_list(out, ds);
  }

  core::Result<bool> find(const std::string& ds, const std::string& name) {
    PVEKIT_ASSIGN(auto snaps, list_dataset(ds));
    return std::any_of(snaps.begin(), snaps.end(), [&](const SnapshotInfo& s) { return s.name == name; });
  }

  // The dataset, after checking that it has snapshot `name`.
  core::Result<std::string> existing(const Target& t, const std::string& name) {
    PVEKIT_TRY(validate_snapshot_name(name));
    PVEKIT_ASSIGN(auto ds, dataset(t));
    PVEKIT_ASSIGN(auto have, find(ds, name));
    if (!have) return Error(ErrorCategory::NotFound, "zfs snapshot " + ds + "@" + name + " does not exist");
    return ds;
  }

  core::Status zfs(std::vector<std::string> args) {
    args.insert(args.begin(), zfs_);
    auto r = core::run_checked(runner_, args);
    if (!r.ok()) return std::move(r).error();
    return core::ok();
  }

  core::CommandRunner& runner_;
  std::string zfs_;
  std::string dataset_template_;
  bool destroy_newer_;
};

}  // namespace

std::unique_ptr<Driver> make_zfs_driver(core::CommandRunner& runner, const CheckpointConfig& config) {
  return std::make_unique<ZfsDriver>(runner, config);
}

}  // namespace pvekit::snapshot
