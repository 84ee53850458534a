#pragma once

// The pure parts of the proxmox backend: an OCI spec as the parameters of
// POST /nodes/{node}/lxc, and the lxcri identity stored in the container
// (tags + description) so a lost state directory can be recovered.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "oci/runtime_config.h"
#include "oci/spec.h"
#include "pve/api.h"
#include "pve/oci_archive.h"

namespace pvekit::oci::proxmox {

inline constexpr const char* kOptionAnnotationPrefix = "org.pvekit.proxmox.";
inline constexpr const char* kManagedTag = "lxcri";

// Maps what PVE can express: hostname, process args/env (PVE 9.1
// entrypoint/env; with settings.template_format Oci they are left to the
// image config, see image_config), memory/swap, cpu shares/quota/cpus, bind
// mounts (mpN), networks from the config, unprivileged, and
// org.pvekit.proxmox.<key> annotations as PVE options. Anything else that is
// set is refused with a Config error naming the spec field. vmid and
// ostemplate are left to the caller.
core::Result<pve::LxcCreateOptions> map_spec(const Spec& spec, const ProxmoxSettings& settings);

// The image config of an OCI template for a process map_spec accepted with
// the Oci format: Entrypoint = args, Env, WorkingDir = cwd, User "uid:gid".
pve::OciImageConfig image_config(const Process& process);

// What lxcri remembers inside the container, to rebuild its state.
struct Identity {
  std::string id;
  std::string bundle;
  std::string rootfs;
  std::string created;
  std::string owner;
};

// "lxcri-<id>" in PVE's tag alphabet (lower-case; other characters as '_').
// Several ids can share a tag; the description holds the exact id.
std::string id_tag(const std::string& id);
std::string encode_description(const Identity& identity);
// nullopt when the description was not written by lxcri.
std::optional<Identity> decode_description(const std::string& description);

}  // namespace pvekit::oci::proxmox
