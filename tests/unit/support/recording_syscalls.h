#pragma once

// A Syscalls fake for unit tests: records every effect as one readable line,
// answers lookups from in-memory tables of directories and files, and can be
// told to fail the call whose line starts with a given prefix. Descriptors it
// hands out are real (of /dev/null) so UniqueFd can close them; lines show the
// path behind a descriptor instead of /proc/self/fd/N. Path resolution itself
// is not faked here: in_root_test.cpp checks it against the real kernel.
// Header-only, since every tests/unit/support/*.cpp is linked into every unit
// test binary.

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/strings.h"
#include "oci/linux/syscalls.h"

namespace pvekit::testing {

class RecordingSyscalls final : public oci::linux::Syscalls {
 public:
  std::vector<std::string> calls;
  std::set<std::string> dirs;   // existing directories
  std::set<std::string> files;  // existing non-directories
  std::map<std::string, mode_t> modes;  // st_mode of a path in dirs or files (default: 040755)
  std::string fail_prefix;      // first call starting with this fails
  int fail_errno = EPERM;

  core::Status mount(const std::string& source, const std::string& target, const std::string& fstype,
                     unsigned long flags, const std::string& data) override {
    return record("mount " + unfd(source) + " " + unfd(target) + " " + fstype + " " + hex(flags) + " " + data);
  }
  core::Status umount(const std::string& target, int flags) override {
    return record("umount " + unfd(target) + " " + std::to_string(flags));
  }
  core::Result<oci::UniqueFd> open_dir(const std::string& host_path) override { return handle(host_path); }
  core::Result<oci::UniqueFd> open_in_root(int root, const std::string& path,
                                           const oci::linux::InRootOptions&) override {
    std::string full = in_root(root, path);
    if (dirs.count(full) == 0 && files.count(full) == 0)
      return core::Error::system("open " + path + " in the rootfs", ENOENT);
    return handle(full);
  }
  core::Result<oci::UniqueFd> mkdir_in_root(int root, const std::string& path, mode_t) override {
    std::string full = in_root(root, path);
    if (dirs.insert(full).second) PVEKIT_TRY(record("mkdir " + full));
    return handle(full);
  }
  core::Result<oci::UniqueFd> create_file_in_root(int root, const std::string& path, mode_t) override {
    std::string full = in_root(root, path);
    if (dirs.count(full) == 0 && files.insert(full).second) PVEKIT_TRY(record("create_file " + full));
    return handle(full);
  }
  core::Status mknodat(int dir, const std::string& name, mode_t mode, dev_t dev) override {
    return record("mknod " + at(dir, name) + " " + oct(mode) + " " + std::to_string(dev));
  }
  core::Status symlinkat(const std::string& target, int dir, const std::string& name) override {
    return record("symlink " + target + " " + at(dir, name));
  }
  core::Status fchownat(int dir, const std::string& name, uid_t uid, gid_t gid) override {
    return record("chown " + at(dir, name) + " " + std::to_string(uid) + ":" + std::to_string(gid));
  }
  core::Result<mode_t> mode_of(int fd, const std::string&) override {
    auto it = modes.find(paths.at(fd));
    return it == modes.end() ? mode_t{S_IFDIR | 0755} : it->second;
  }
  core::Status fchmod(int fd, mode_t mode, const std::string&) override {
    return record("chmod " + paths.at(fd) + " " + oct(mode));
  }
  core::Status write_proc_file(int root, const std::string& path, const std::string& content) override {
    return record("write_proc_file " + in_root(root, path) + " " + content);
  }
  core::Status set_mount_attrs(int fd, uint64_t set, uint64_t clear) override {
    return record("mount_setattr " + paths.at(fd) + " set " + hex(set) + " clear " + hex(clear));
  }
  core::Status copy_tree(int from, int to) override { return record("copy_tree " + paths.at(from) + " " + paths.at(to)); }
  core::Status pivot_root(int new_root) override { return record("pivot_root " + paths.at(new_root)); }
  core::Status move_root(int new_root) override { return record("move_root " + paths.at(new_root)); }
  core::Status sethostname(const std::string& name) override { return record("sethostname " + name); }
  core::Status setdomainname(const std::string& name) override { return record("setdomainname " + name); }
  bool is_dir(const std::string& path) override { return dirs.count(unfd(path)) > 0; }

  static std::string hex(unsigned long v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%lx", v);
    return buf;
  }
  static std::string oct(unsigned long v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0%lo", v);
    return buf;
  }

 private:
  std::map<int, std::string> paths;  // descriptor -> the path it stands for

  core::Result<oci::UniqueFd> handle(const std::string& path) {
    oci::UniqueFd fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    paths[fd.get()] = path;
    return fd;
  }
  std::string in_root(int root, const std::string& path) {
    std::string base = paths.at(root);
    for (const auto& c : core::split(path, '/', true))
      if (c != ".") base += (base == "/" ? "" : "/") + c;
    return base;
  }
  std::string at(int dir, const std::string& name) {
    const std::string& base = paths.at(dir);
    return base == "/" ? "/" + name : base + "/" + name;
  }
  std::string unfd(const std::string& path) {
    static const std::string prefix = "/proc/self/fd/";
    if (path.rfind(prefix, 0) != 0) return path;
    auto it = paths.find(std::stoi(path.substr(prefix.size())));
    return it == paths.end() ? path : it->second;
  }
  core::Status record(std::string line) {
    bool fail = !fail_prefix.empty() && line.rfind(fail_prefix, 0) == 0;
    calls.push_back(std::move(line));
    if (fail) {
      fail_prefix.clear();
      return core::Error::system(calls.back(), fail_errno);
    }
    return core::ok();
  }
};

}  // namespace pvekit::testing
