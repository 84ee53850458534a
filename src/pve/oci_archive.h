#pragma once

// OCI image archives as Proxmox VE 9.1 takes them for a container template:
// a plain (uncompressed) tar on a `vztmpl` storage, named *.tar, holding an
// OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/<hex>`). PVE
// tells it from a rootfs tarball by those three members, unpacks the layers
// and fills the container's config from the image config (entrypoint from
// Entrypoint + Cmd, env from Env, lxc.init.cwd from WorkingDir,
// lxc.signal.halt from StopSignal). lxcri writes such archives and pvesim
// reads them; both sides are here so they agree. Pure logic, no I/O.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/json.h"
#include "core/result.h"

namespace pvekit::pve {

inline constexpr const char* kOciLayoutMediaType = "application/vnd.oci.image.layout.v1+json";
inline constexpr const char* kOciIndexMediaType = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciConfigMediaType = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayerGzipMediaType = "application/vnd.oci.image.layer.v1.tar+gzip";

// The part of an image config's "config" object PVE uses (plus User, which
// PVE 9.1 reads but does not apply).
struct OciImageConfig {
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // NAME=value
  std::string working_dir;
  std::string user;
  std::string stop_signal;
};

// A content descriptor: {mediaType, digest "sha256:<hex>", size}.
struct OciDescriptor {
  std::string media_type;
  std::string digest;
  uint64_t size = 0;
};

// Incremental SHA-256 (OpenSSL), for blobs too large to hold in memory.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  // Lower-case hex of the digest; the object is spent afterwards.
  std::string hex();

 private:
  void* ctx_;
};
std::string sha256_hex(std::string_view data);
// The descriptor of an in-memory blob: "sha256:" + its digest, its size.
OciDescriptor describe_blob(std::string media_type, std::string_view blob);

// The JSON documents of a one-layer image: `config` maps to the image
// config's "config" object; `layer` is the gzip'ed rootfs tar and `diff_id`
// the "sha256:<hex>" of the same tar uncompressed; `arch` is GOARCH (amd64).
struct OciLayout {
  std::string oci_layout;  // the `oci-layout` file
  std::string config;      // blob
  std::string manifest;    // blob
  std::string index;       // `index.json`
  OciDescriptor config_descriptor;
  OciDescriptor manifest_descriptor;
};
OciLayout build_oci_layout(const OciImageConfig& config, const OciDescriptor& layer, const std::string& diff_id,
                           const std::string& arch, const std::string& created);

// "blobs/sha256/<hex>" for a "sha256:<hex>" digest.
std::string blob_path(const std::string& digest);

// ---- tar (POSIX ustar) -------------------------------------------------------

// The 512-byte ustar header of a regular file (mode 0644, owner 0:0). Names
// up to 100 bytes (longer ones are an error: OCI layout names are short).
core::Result<std::string> tar_file_header(const std::string& name, uint64_t size, int64_t mtime);
// Zero bytes after `size` bytes of file data, up to the next 512-byte block.
std::string tar_padding(uint64_t size);
// The two zero blocks closing an archive.
std::string tar_end();
// The regular files of an uncompressed tar, name -> contents (views into
// `archive`); a leading "./" is dropped. Parse error on a damaged archive.
core::Result<std::map<std::string, std::string_view>> tar_files(std::string_view archive);

// ---- reading an archive as PVE 9.1 does ---------------------------------------

// Whether PVE takes the tar for an OCI image: it has `oci-layout`,
// `index.json` and something under `blobs/` (pve-container's check).
bool is_oci_archive(const std::map<std::string, std::string_view>& files);
// index.json -> first manifest -> config, digests and sizes checked, every
// layer present; the image config. Errors say which document and why.
core::Result<OciImageConfig> read_oci_image(const std::map<std::string, std::string_view>& files);

// PVE's container settings from an image config: `entrypoint` (Entrypoint +
// Cmd, the first word bare and the others in double quotes; unset when empty
// or /sbin/init, and then no `cmode`), `cmode` "console" with an entrypoint,
// `env` (NUL-separated), and the raw LXC keys lxc.init.cwd and
// lxc.signal.halt (StopSignal, default SIGTERM).
struct OciCtSettings {
  std::optional<std::string> entrypoint;
  std::optional<std::string> cmode;
  std::optional<std::string> env;
  std::vector<std::pair<std::string, std::string>> lxc;
};
OciCtSettings oci_ct_settings(const OciImageConfig& config);

}  // namespace pvekit::pve
