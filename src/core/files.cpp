#include "core/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace pvekit::core {
namespace {

Status write_all(int fd, const std::string& content, const std::string& path) {
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("write " + path, errno);
    }
    done += static_cast<size_t>(n);
  }
  return ok();
}

std::string parent_dir(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

}  // namespace

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::system("cannot read " + path, errno);
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Error::system("cannot read " + path, errno);
  return buf.str();
}

Status write_file_atomic(const std::string& path, const std::string& content, int mode, Durability durability) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Error::system("create " + tmp, errno);
  Status written = write_all(fd, content, tmp);
  if (written.ok() && durability == Durability::Durable && ::fsync(fd) != 0) written = Error::system("fsync " + tmp, errno);
  ::close(fd);
  if (written.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    written = Error::system("rename " + tmp + " to " + path, errno);
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  if (durability == Durability::RuntimeState) return ok();
  int dir = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    // A failed directory fsync leaves the rename done but possibly not yet
    // durable; the content itself is consistent either way.
    ::fsync(dir);
    ::close(dir);
  }
  return ok();
}

}  // namespace pvekit::core
