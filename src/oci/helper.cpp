#include "oci/helper.h"

#include <filesystem>

namespace pvekit::oci {

namespace {
bool is_helper = false;
}  // namespace

void set_executable_is_helper() { is_helper = true; }

std::string helper_path(const std::string& executable, const std::string& file_name) {
  // PVEKIT_LXCRI_HELPER_DIR: the install's helper directory relative to its bindir (CMake).
  auto dir = std::filesystem::path(executable).parent_path();
  if (!is_helper) dir /= PVEKIT_LXCRI_HELPER_DIR;
  return (dir / file_name).lexically_normal().string();
}

core::Error helper_error(const std::string& path, const std::string& what, const std::string& why) {
  return core::Error(core::ErrorCategory::Runtime, "the " + what + " helper " + path + " could not be run: " + why);
}

}  // namespace pvekit::oci
