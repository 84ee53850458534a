#include "oci/proxmox/archive.h"

#include <unistd.h>

#include <ctime>
#include <fstream>
#include <vector>

#include "core/process.h"

namespace pvekit::oci::proxmox {
namespace {

using core::Error;

// GOARCH of this build, the image's architecture (PVE picks a manifest by it).
constexpr const char* kArch =
#if defined(__x86_64__)
    "amd64";
#elif defined(__aarch64__)
    "arm64";
#elif defined(__i386__)
    "386";
#elif defined(__arm__)
    "arm";
#elif defined(__riscv) && __riscv_xlen == 64
    "riscv64";
#else
#error "unknown architecture for OCI images"
#endif

struct FileDigest {
  std::string digest;  // "sha256:<hex>"
  uint64_t size = 0;
};

core::Result<FileDigest> digest_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::system("open " + path, errno);
  pve::Sha256 sha;
  FileDigest d;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    sha.update(std::string_view(buf.data(), n));
    d.size += n;
  }
  if (in.bad()) return Error::system("read " + path, errno);
  d.digest = "sha256:" + sha.hex();
  return d;
}

core::Status append_member(std::ofstream& out, const std::string& name, const std::string& data) {
  PVEKIT_ASSIGN(std::string header, pve::tar_file_header(name, data.size(), std::time(nullptr)));
  out << header << data << pve::tar_padding(data.size());
  return core::ok();
}

core::Status write_layout(const std::string& path, const pve::OciLayout& layout, const std::string& layer_path,
                          const pve::OciDescriptor& layer) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Error::system("create " + path, errno);
  PVEKIT_TRY(append_member(out, "oci-layout", layout.oci_layout));
  PVEKIT_TRY(append_member(out, "index.json", layout.index));
  PVEKIT_TRY(append_member(out, pve::blob_path(layout.manifest_descriptor.digest), layout.manifest));
  PVEKIT_TRY(append_member(out, pve::blob_path(layout.config_descriptor.digest), layout.config));
  PVEKIT_ASSIGN(std::string header, pve::tar_file_header(pve::blob_path(layer.digest), layer.size, std::time(nullptr)));
  out << header;
  std::ifstream in(layer_path, std::ios::binary);
  if (!in) return Error::system("open " + layer_path, errno);
  out << in.rdbuf() << pve::tar_padding(layer.size) << pve::tar_end();
  out.flush();
  if (!out) return Error::system("write " + path, errno);
  return core::ok();
}

core::Status oci_archive(core::CommandRunner& runner, const std::string& rootfs, const std::string& path,
                         const std::string& layer_tar, const pve::OciImageConfig& config, const std::string& created) {
  PVEKIT_TRY(core::run_checked(runner, {"tar", "--create", "--numeric-owner", "--file", layer_tar, "--directory",
                                        rootfs, "."})
                 .wrap("pack " + rootfs));
  // The image config names the layer by the digest of the uncompressed tar (diff_id).
  PVEKIT_ASSIGN(FileDigest diff_id, digest_file(layer_tar));
  PVEKIT_TRY(core::run_checked(runner, {"gzip", "-n", "--force", layer_tar}).wrap("compress the rootfs layer"));
  PVEKIT_ASSIGN(FileDigest gz, digest_file(layer_tar + ".gz"));
  const pve::OciDescriptor layer{pve::kOciLayerGzipMediaType, gz.digest, gz.size};
  return write_layout(path, pve::build_oci_layout(config, layer, diff_id.digest, kArch, created), layer_tar + ".gz",
                      layer);
}

}  // namespace

core::Status write_rootfs_archive(const std::string& rootfs, const std::string& path) {
  core::ProcessRunner runner;
  auto packed = core::run_checked(
      runner, {"tar", "--create", "--gzip", "--numeric-owner", "--file", path, "--directory", rootfs, "."});
  if (packed.ok()) return core::ok();
  ::unlink(path.c_str());
  return std::move(packed).error().wrap("pack " + rootfs);
}

core::Status write_oci_archive(const std::string& rootfs, const std::string& path, const pve::OciImageConfig& config,
                               const std::string& created) {
  core::ProcessRunner runner;
  const std::string layer_tar = path + ".layer.tar";
  auto written = oci_archive(runner, rootfs, path, layer_tar, config, created);
  ::unlink(layer_tar.c_str());
  ::unlink((layer_tar + ".gz").c_str());
  if (written.ok()) return core::ok();
  ::unlink(path.c_str());
  return std::move(written).error().wrap("OCI image archive " + path);
}

}  // namespace pvekit::oci::proxmox
