#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace pvekit::testing {

// A fresh directory under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp " + tmpl + " failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;  // already gone is fine
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }

  // Writes `content` to the file `rel` below the directory, making its parents.
  void write(const std::string& rel, const std::string& content = "") const {
    std::filesystem::create_directories(std::filesystem::path(path_ + "/" + rel).parent_path());
    std::ofstream(path_ + "/" + rel) << content;
  }
  // The content of the file `rel` below the directory; "" when there is none.
  std::string read(const std::string& rel) const {
    std::stringstream ss;
    ss << std::ifstream(path_ + "/" + rel).rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
};

}  // namespace pvekit::testing
