#include "oci/state_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "core/files.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

namespace {

Error not_found(const std::string& id) {
  return Error(ErrorCategory::NotFound, "container \"" + id + "\" does not exist");
}

core::Status mkdir_p(const std::string& path, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Error::system("create directory " + path, ec.value());
  ::chmod(path.c_str(), mode);  // best effort: an existing root keeps working with its mode
  return core::ok();
}

core::Result<ContainerLock> lock_dir(const std::string& path, const std::string& id) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return not_found(id);
    return Error::system("open " + path, errno);
  }
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR) return Error::system("lock " + path, errno);
  // The holder before us may have deleted the container.
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0 || st.st_nlink == 0) return not_found(id);
  return ContainerLock(std::move(fd));
}

}  // namespace

core::Status validate_id(const std::string& id) {
  auto bad = [&](const std::string& why) {
    return Error(ErrorCategory::Usage, "invalid container id \"" + id + "\": " + why);
  };
  if (id.empty()) return bad("must not be empty");
  if (id == "." || id == "..") return bad("must not be \".\" or \"..\"");
  if (id.size() > 1024) return bad("longer than 1024 characters");
  for (char c : id) {
    bool okay = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '+' || c == '-' || c == '.';
    if (!okay) return bad("only letters, digits, '_', '+', '-' and '.' are allowed");
  }
  return core::ok();
}

StateStore::StateStore(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

core::Result<ContainerLock> StateStore::create(const std::string& id) const {
  PVEKIT_TRY(validate_id(id));
  PVEKIT_TRY(mkdir_p(root_, 0700));
  if (::mkdir(dir(id).c_str(), 0711) != 0) {
    if (errno == EEXIST) return Error(ErrorCategory::Conflict, "container with id \"" + id + "\" already exists");
    return Error::system("create " + dir(id), errno);
  }
  return lock_dir(dir(id), id);
}

core::Result<ContainerLock> StateStore::lock(const std::string& id) const {
  PVEKIT_TRY(validate_id(id));
  return lock_dir(dir(id), id);
}

core::Result<ContainerState> StateStore::load(const std::string& id) const {
  PVEKIT_TRY(validate_id(id));
  auto text = core::read_file(state_path(id));
  if (!text.ok()) {
    if (!exists(id)) return not_found(id);
    struct stat st{};
    if (::stat(state_path(id).c_str(), &st) != 0 && errno == ENOENT) {
      // A create killed before its first save: nothing but the directory.
      return ContainerState{.id = id, .status = ContainerStatus::Stopped, .backend = "linux"};
    }
    return std::move(text).error();
  }
  PVEKIT_ASSIGN(auto doc, core::parse_json(*text, state_path(id)));
  return state_from_json(doc).wrap(state_path(id));
}

core::Status StateStore::save(const ContainerState& state) const {
  return core::write_file_atomic(state_path(state.id), state_to_json(state).dump(), 0600,
                                 core::Durability::RuntimeState);
}

core::Status StateStore::remove(const std::string& id) const {
  PVEKIT_TRY(validate_id(id));
  std::error_code ec;
  // Already gone is fine: delete must be idempotent.
  std::filesystem::remove_all(dir(id), ec);
  if (ec && ec != std::errc::no_such_file_or_directory) return Error::system("remove " + dir(id), ec.value());
  return core::ok();
}

core::Result<std::vector<std::string>> StateStore::list() const {
  std::vector<std::string> ids;
  DIR* d = ::opendir(root_.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return ids;
    return Error::system("open " + root_, errno);
  }
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || !validate_id(name).ok()) continue;
    struct stat st{};
    if (::stat((root_ + "/" + name).c_str(), &st) == 0 && S_ISDIR(st.st_mode)) ids.push_back(name);
  }
  ::closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

bool StateStore::exists(const std::string& id) const {
  struct stat st{};
  return ::stat(dir(id).c_str(), &st) == 0;
}

bool StateStore::fifo_exists(const std::string& id) const {
  struct stat st{};
  return ::stat(fifo_path(id).c_str(), &st) == 0;
}

}  // namespace pvekit::oci
