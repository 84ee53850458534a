#pragma once

// A Syscalls fake for unit tests: records every call as one readable line,
// answers readlink/is_dir/exists from in-memory tables, and can be told to
// fail the call whose line starts with a given prefix. Header-only, since
// every tests/unit/support/*.cpp is linked into every unit test binary.

#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "oci/linux/syscalls.h"

namespace pvekit::testing {

class RecordingSyscalls final : public oci::linux::Syscalls {
 public:
  std::vector<std::string> calls;
  std::map<std::string, std::string> symlinks;  // path -> link target
  std::set<std::string> dirs;                   // existing directories
  std::set<std::string> files;                  // existing non-directories
  std::string fail_prefix;                      // first call starting with this fails
  int fail_errno = EPERM;

  core::Status mount(const std::string& source, const std::string& target, const std::string& fstype,
                     unsigned long flags, const std::string& data) override {
    return record("mount " + source + " " + target + " " + fstype + " " + hex(flags) + " " + data);
  }
  core::Status umount(const std::string& target, int flags) override {
    return record("umount " + target + " " + std::to_string(flags));
  }
  core::Status mkdir_all(const std::string& path, mode_t) override {
    dirs.insert(path);
    return record("mkdir_all " + path);
  }
  core::Status create_file(const std::string& path, mode_t) override {
    files.insert(path);
    return record("create_file " + path);
  }
  core::Status mknod(const std::string& path, mode_t mode, dev_t dev) override {
    return record("mknod " + path + " " + oct(mode) + " " + std::to_string(dev));
  }
  core::Status chown(const std::string& path, uid_t uid, gid_t gid) override {
    return record("chown " + path + " " + std::to_string(uid) + ":" + std::to_string(gid));
  }
  core::Status symlink(const std::string& target, const std::string& link) override {
    return record("symlink " + target + " " + link);
  }
  core::Status pivot_root(const std::string& new_root) override { return record("pivot_root " + new_root); }
  core::Status move_root(const std::string& new_root) override { return record("move_root " + new_root); }
  core::Status chdir(const std::string& path) override { return record("chdir " + path); }
  core::Status sethostname(const std::string& name) override { return record("sethostname " + name); }
  core::Status setdomainname(const std::string& name) override { return record("setdomainname " + name); }
  core::Status write_file(const std::string& path, const std::string& content) override {
    return record("write_file " + path + " " + content);
  }
  std::optional<std::string> readlink(const std::string& path) override {
    auto it = symlinks.find(path);
    if (it == symlinks.end()) return std::nullopt;
    return it->second;
  }
  bool is_dir(const std::string& path) override { return dirs.count(path) > 0; }
  bool exists(const std::string& path) override {
    return dirs.count(path) > 0 || files.count(path) > 0 || symlinks.count(path) > 0;
  }

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
