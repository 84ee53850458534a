#include <sys/stat.h>
#include <unistd.h>

#include "core/files.h"
#include "oci/commands.h"

namespace pvekit::oci {

core::Status cmd_spec(Context& ctx, const SpecOptions& o) {
  (void)ctx;
  std::string path = (o.bundle.empty() ? std::string(".") : o.bundle) + "/config.json";
  struct stat st{};
  if (::stat(path.c_str(), &st) == 0)
    return core::Error(core::ErrorCategory::Conflict, "File " + path + " exists. Remove it first");
  core::Json spec = o.rootless ? rootless_spec(::geteuid(), ::getegid()) : default_spec();
  return core::write_file_atomic(path, spec.dump(1, '\t') + "\n", 0666 & ~0022);
}

}  // namespace pvekit::oci
