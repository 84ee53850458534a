#pragma once

// Where container state lives: <root>/<id>/state.json (written atomically)
// and <root>/<id>/exec.fifo, with a per-container flock so concurrent
// commands on one container run one after the other.

#include <string>
#include <vector>

#include "core/result.h"
#include "oci/fd.h"
#include "oci/state.h"

namespace pvekit::oci {

inline constexpr const char* kDefaultRoot = "/run/lxcri";

// runc's id rules: non-empty, only [A-Za-z0-9_+.-], not "." or "..", at most 1024 bytes.
core::Status validate_id(const std::string& id);

// Holds the exclusive lock on one container directory until destroyed.
class ContainerLock {
 public:
  explicit ContainerLock(UniqueFd fd) : fd_(std::move(fd)) {}
  int fd() const { return fd_.get(); }
  void unlock() { fd_.reset(); }

 private:
  UniqueFd fd_;
};

class StateStore {
 public:
  explicit StateStore(std::string root);

  const std::string& root() const { return root_; }
  std::string dir(const std::string& id) const { return root_ + "/" + id; }
  std::string state_path(const std::string& id) const { return dir(id) + "/state.json"; }
  std::string fifo_path(const std::string& id) const { return dir(id) + "/exec.fifo"; }

  // Creates the container directory (and the root, mode 0700) and locks it.
  // Conflict when a container with this id exists.
  core::Result<ContainerLock> create(const std::string& id) const;
  // Locks an existing container. NotFound when it does not exist (or was
  // deleted while waiting for the lock).
  core::Result<ContainerLock> lock(const std::string& id) const;

  core::Result<ContainerState> load(const std::string& id) const;
  core::Status save(const ContainerState& state) const;
  // Removes the container directory; a directory already gone is fine.
  core::Status remove(const std::string& id) const;
  // Ids of all containers, sorted; an absent root means none.
  core::Result<std::vector<std::string>> list() const;

  bool exists(const std::string& id) const;
  bool fifo_exists(const std::string& id) const;

 private:
  std::string root_;
};

}  // namespace pvekit::oci
