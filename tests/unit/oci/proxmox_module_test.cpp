#include "oci/proxmox_module.h"

#include <gtest/gtest.h>


namespace pvekit::oci {
namespace {

TEST(ProxmoxModule, PathIsRelativeToTheExecutable) {
  const std::string path = proxmox_module_path("/opt/x/bin/lxcri");
  EXPECT_TRUE(path.starts_with("/opt/x/")) << path;
  EXPECT_TRUE(path.ends_with("/pvekit/lxcri-proxmox.so")) << path;
  EXPECT_EQ(path.find(".."), std::string::npos) << path;
}

TEST(ProxmoxModule, MissingModuleNamesPathAndReason) {
  auto loaded = load_proxmox_module("/nonexistent/pvekit/lxcri-proxmox.so");
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.error().message().rfind(
                "the proxmox backend module /nonexistent/pvekit/lxcri-proxmox.so could not be loaded: ", 0),
            0u)
      << loaded.error().message();
  EXPECT_NE(loaded.error().message().find("No such file"), std::string::npos) << loaded.error().message();
}

TEST(ProxmoxModule, RefusesASharedObjectWithoutTheEntryPoint) {
  auto loaded = load_proxmox_module("libm.so.6");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.error().message().find("not an lxcri proxmox backend module"), std::string::npos)
      << loaded.error().message();
}

}  // namespace
}  // namespace pvekit::oci
