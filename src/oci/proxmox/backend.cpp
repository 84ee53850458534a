#include "oci/proxmox/backend.h"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>

#include "core/log.h"
#include "core/strings.h"
#include "core/files.h"
#include "oci/proxmox/archive.h"
#include "oci/proxmox/spec_map.h"
#include "pve/api.h"
#include "pve/api_config.h"

namespace pvekit::oci::proxmox {
namespace {

using core::Error;
using core::ErrorCategory;

constexpr const char* kPct = "/usr/sbin/pct";

std::string ct_name(int64_t vmid, const std::string& node) {
  return "CT " + std::to_string(vmid) + " on node " + node;
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  std::string name = buf;
  return name.substr(0, name.find('.'));
}

// PVE asks for Datastore.Allocate on the template's storage only when the
// template is deleted, after the CT exists: without it the uploaded template
// would stay behind. So it is asked for before anything is made.
core::Status require_template_removal(pve::Client& client, const std::string& storage) {
  const std::string path = "/storage/" + storage;
  PVEKIT_ASSIGN(auto held, client.get("/access/permissions", {{"path", path}}));
  if (held.is_object() && held.contains(path) && held[path].is_object() && held[path].contains("Datastore.Allocate")) {
    return core::ok();
  }
  return Error(ErrorCategory::Auth, "the proxmox_api credentials lack Datastore.Allocate on " + path +
                                        ": the uploaded template could not be removed after the create "
                                        "(proxmox.template_storage; see \"Least privileges\" in docs/lxcri.md)");
}

}  // namespace

ProxmoxBackend::ProxmoxBackend(ProxmoxSettings settings, std::unique_ptr<pve::Transport> transport)
    : settings_(std::move(settings)), transport_(std::move(transport)) {}

core::Result<std::unique_ptr<ProxmoxBackend>> ProxmoxBackend::connect(const RuntimeConfig& config) {
  if (!configured(config))
    return Error(ErrorCategory::Config,
                 "the proxmox backend needs a cluster: set proxmox_api.hosts and credentials in lxcri's config");
  PVEKIT_ASSIGN(auto options, pve::to_client_options(config.proxmox_api, core::read_file));
  PVEKIT_ASSIGN(auto transport, pve::make_transport(options));
  std::unique_ptr<ProxmoxBackend> backend(new ProxmoxBackend(config.proxmox, std::move(transport)));
  PVEKIT_ASSIGN(backend->client_, pve::Client::create(std::move(options), *backend->transport_, backend->clock_));
  return backend;
}

core::Status ProxmoxBackend::wait(const core::Result<std::string>& upid, const std::string& what, int64_t timeout_s) {
  if (!upid.ok()) return Error(upid.error()).wrap(what);
  pve::WaitOptions options{.timeout = std::chrono::seconds(timeout_s),
                           .poll_interval = std::chrono::milliseconds(settings_.poll_interval_ms)};
  auto status = pve::wait_task(*client_, *upid, options);
  if (!status.ok()) return std::move(status).error().wrap(what);
  return core::ok();
}

core::Result<std::string> ProxmoxBackend::target_node() {
  std::string node = settings_.node.empty() ? host_name() : settings_.node;
  PVEKIT_ASSIGN(auto nodes, pve::get_nodes(*client_));
  for (const auto& n : nodes) {
    if (n.node == node) return node;
  }
  std::vector<std::string> names;
  for (const auto& n : nodes) names.push_back(n.node);
  return Error(ErrorCategory::Config, "proxmox.node: \"" + node + "\" is not a node of the cluster (" +
                                          core::join(names, ", ") + ")" +
                                          (settings_.node.empty() ? "; set proxmox.node" : ""));
}

void ProxmoxBackend::cleanup_failed_create(const std::string& node, int64_t vmid, const std::string& create_upid,
                                           const std::string& volid) {
  const pve::WaitOptions options{.timeout = std::chrono::seconds(settings_.task_timeout_s),
                                 .poll_interval = std::chrono::milliseconds(settings_.poll_interval_ms)};
  if (!create_upid.empty()) {
    // The container is locked until its create task ends, whatever it ends with.
    (void)pve::wait_task(*client_, create_upid, options);
    if (pve::get_guest_config(*client_, node, pve::GuestType::Lxc, vmid).ok()) {
      auto removed = wait(pve::lxc_delete(*client_, node, vmid, true), "remove " + ct_name(vmid, node),
                          settings_.task_timeout_s);
      if (!removed.ok()) spdlog::warn("failed create: {}; remove it by hand", removed.error().to_string());
    }
  }
  if (!volid.empty()) {
    auto removed = wait(pve::delete_volume(*client_, node, volid), "remove template " + volid, settings_.task_timeout_s);
    if (!removed.ok()) spdlog::warn("failed create: {}; remove it by hand", removed.error().to_string());
  }
}

core::Result<ContainerState> ProxmoxBackend::create(const CreateRequest& r) {
  // Everything that can be refused is refused before the cluster is touched.
  if (!r.options.pid_file.empty())
    return Error(ErrorCategory::Usage, "--pid-file: container " + r.id +
                                           " goes to the proxmox backend, whose process runs on a cluster node, "
                                           "not on this host; leave --pid-file out");
  PVEKIT_ASSIGN(auto options, map_spec(r.spec, settings_));
  PVEKIT_ASSIGN(std::string node, target_node());
  PVEKIT_TRY(require_template_removal(*client_, settings_.template_storage));
  PVEKIT_ASSIGN(int64_t vmid, pve::get_next_vmid(*client_));
  const bool oci = settings_.template_format == TemplateFormat::Oci;
  // PVE 9.1 takes a plain .tar holding an image layout for an OCI image.
  const std::string filename = id_tag(r.id) + "-" + std::to_string(vmid) + (oci ? ".tar" : ".tar.gz");
  const std::string archive = r.state_dir + "/" + filename;
  const std::string created_at = rfc3339_now();
  if (oci) PVEKIT_TRY(write_oci_archive(r.rootfs, archive, image_config(*r.spec.process), created_at));
  else PVEKIT_TRY(write_rootfs_archive(r.rootfs, archive).wrap("rootfs archive"));
  pve::UploadOptions upload{.node = node, .storage = settings_.template_storage, .content = "vztmpl",
                            .file = archive, .filename = filename};
  auto uploaded = wait(pve::upload_to_storage(*client_, upload),
                       "upload rootfs to storage " + settings_.template_storage, settings_.task_timeout_s);
  ::unlink(archive.c_str());
  if (!uploaded.ok()) return std::move(uploaded).error();
  const std::string volid = settings_.template_storage + ":vztmpl/" + filename;

  ContainerState state;
  state.id = r.id;
  state.status = ContainerStatus::Created;
  state.bundle = r.bundle;
  state.rootfs = r.rootfs;
  state.annotations = r.spec.annotations;
  state.backend = name();
  state.pve_node = node;
  state.pve_vmid = vmid;
  state.created = created_at;
  options.vmid = vmid;
  options.ostemplate = volid;
  options.tags = {kManagedTag, id_tag(r.id)};
  options.description = encode_description(
      {.id = r.id, .bundle = r.bundle, .rootfs = r.rootfs, .created = state.created, .owner = ""});
  auto upid = pve::lxc_create(*client_, node, options);
  auto created = wait(upid, "create " + ct_name(vmid, node), settings_.task_timeout_s);
  if (!created.ok()) {
    cleanup_failed_create(node, vmid, upid.ok() ? *upid : "", volid);
    return std::move(created).error();
  }
  // The container has its own copy of the rootfs now.
  if (auto removed = wait(pve::delete_volume(*client_, node, volid), "remove template " + volid,
                          settings_.task_timeout_s);
      !removed.ok())
    spdlog::warn("{}", removed.error().to_string());
  return state;
}

core::Status ProxmoxBackend::start(const ContainerState& s, const std::string&) {
  return wait(pve::lxc_start(*client_, s.pve_node, s.pve_vmid), "start " + ct_name(s.pve_vmid, s.pve_node),
              settings_.task_timeout_s);
}

bool ProxmoxBackend::alive(const ContainerState& s) {
  auto st = live_status(s, false);
  return st.ok() && (*st == ContainerStatus::Running || *st == ContainerStatus::Paused);
}

core::Result<ContainerStatus> ProxmoxBackend::live_status(const ContainerState& s, bool) {
  if (s.pve_vmid == 0) return ContainerStatus::Stopped;
  auto guest = pve::get_guest_status(*client_, s.pve_node, pve::GuestType::Lxc, s.pve_vmid);
  if (!guest.ok()) {
    if (guest.error().category() == ErrorCategory::NotFound) return ContainerStatus::Stopped;
    return std::move(guest).error().wrap("status of " + ct_name(s.pve_vmid, s.pve_node));
  }
  if (guest->status == "running") return s.status == ContainerStatus::Paused ? ContainerStatus::Paused
                                                                             : ContainerStatus::Running;
  // A container never started is "created" (PVE shows it stopped).
  return s.status == ContainerStatus::Created ? ContainerStatus::Created : ContainerStatus::Stopped;
}

core::Status ProxmoxBackend::kill(const ContainerState& s, int signal, bool) {
  const std::string ct = ct_name(s.pve_vmid, s.pve_node);
  if (signal == SIGTERM)
    return wait(pve::lxc_shutdown(*client_, s.pve_node, s.pve_vmid, settings_.shutdown_timeout_s),
                "shutdown " + ct, settings_.shutdown_timeout_s + settings_.task_timeout_s);
  if (signal == SIGKILL)
    return wait(pve::lxc_stop(*client_, s.pve_node, s.pve_vmid), "stop " + ct, settings_.task_timeout_s);
  return Error(ErrorCategory::Usage, "signal " + std::to_string(signal) + " cannot be sent to " + ct +
                                         ": the proxmox backend maps SIGTERM to shutdown and SIGKILL to stop only");
}

core::Status ProxmoxBackend::destroy(const ContainerState& s) {
  // A create killed before the cluster gave it a CT (one made later is found by its tag).
  if (s.pve_vmid == 0) return core::ok();
  const std::string ct = ct_name(s.pve_vmid, s.pve_node);
  auto guest = pve::get_guest_status(*client_, s.pve_node, pve::GuestType::Lxc, s.pve_vmid);
  if (!guest.ok()) {
    if (guest.error().category() == ErrorCategory::NotFound) return core::ok();  // already gone
    return std::move(guest).error().wrap("delete " + ct);
  }
  if (guest->status == "running")
    PVEKIT_TRY(wait(pve::lxc_stop(*client_, s.pve_node, s.pve_vmid), "stop " + ct, settings_.task_timeout_s));
  return wait(pve::lxc_delete(*client_, s.pve_node, s.pve_vmid, true), "delete " + ct, settings_.task_timeout_s);
}

core::Status ProxmoxBackend::pause(const ContainerState& s) {
  return wait(pve::lxc_suspend(*client_, s.pve_node, s.pve_vmid), "suspend " + ct_name(s.pve_vmid, s.pve_node),
              settings_.task_timeout_s);
}

core::Status ProxmoxBackend::resume(const ContainerState& s) {
  return wait(pve::lxc_resume(*client_, s.pve_node, s.pve_vmid), "resume " + ct_name(s.pve_vmid, s.pve_node),
              settings_.task_timeout_s);
}

core::Result<std::vector<pid_t>> ProxmoxBackend::pids(const ContainerState& s) {
  return unsupported("listing the processes of " + ct_name(s.pve_vmid, s.pve_node));
}

core::Result<pid_t> ProxmoxBackend::exec(const ContainerState& s, const ExecRequest& request) {
  const std::string ct = ct_name(s.pve_vmid, s.pve_node);
  if (!request.sub_cgroups.empty())
    return Error(ErrorCategory::Usage, "exec --cgroup: `pct exec` starts processes in the CT's own cgroup only");
  const std::string here = host_name();
  if (here != s.pve_node)
    return Error(ErrorCategory::Usage, "exec: " + ct + " is not on this host (" + here +
                                           "); `pct exec` works only on the container's node");
  if (::access(kPct, X_OK) != 0)
    return Error(ErrorCategory::Usage, std::string("exec: ") + kPct + " is missing; is this a Proxmox VE node?");
  if (!request.spec.process || request.spec.process->args.empty())
    return Error(ErrorCategory::Usage, "exec: no process arguments");
  const Process& p = *request.spec.process;
  if (p.terminal) return Error(ErrorCategory::Usage, "exec: the proxmox backend cannot give a terminal (--tty)");
  std::vector<std::string> words = {kPct, "exec", std::to_string(s.pve_vmid), "--"};
  words.insert(words.end(), p.args.begin(), p.args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (int rc = ::posix_spawn(&pid, kPct, nullptr, nullptr, argv.data(), environ); rc != 0)
    return Error::system(std::string("exec: spawn ") + kPct, rc);
  return pid;
}

core::Result<std::optional<ContainerState>> ProxmoxBackend::recovered_state(const pve::ClusterResource& r) {
  PVEKIT_ASSIGN(auto config, pve::get_guest_config(*client_, r.node, pve::GuestType::Lxc, r.vmid));
  auto identity = decode_description(config.get("description").value_or(""));
  if (!identity) return std::optional<ContainerState>();
  ContainerState s;
  s.id = identity->id;
  s.bundle = identity->bundle;
  s.rootfs = identity->rootfs;
  s.created = identity->created;
  s.owner = identity->owner;
  s.backend = name();
  s.pve_node = r.node;
  s.pve_vmid = r.vmid;
  // PVE cannot tell a never-started container from a stopped one; stopped is the safe reading.
  s.status = r.status == "running" ? ContainerStatus::Running : ContainerStatus::Stopped;
  return std::optional<ContainerState>(std::move(s));
}

core::Result<std::optional<ContainerState>> ProxmoxBackend::find(const std::string& id) {
  PVEKIT_ASSIGN(auto resources, pve::get_cluster_resources(*client_, pve::ResourceFilter::Vm));
  const std::string tag = id_tag(id);
  for (const auto& r : resources) {
    if (r.type != "lxc" || std::find(r.tags.begin(), r.tags.end(), tag) == r.tags.end()) continue;
    PVEKIT_ASSIGN(auto s, recovered_state(r));
    if (s && s->id == id) return s;  // else another id with the same tag
  }
  return std::optional<ContainerState>();
}

core::Result<std::vector<ContainerState>> ProxmoxBackend::list_managed(const std::set<int64_t>& known_vmids) {
  PVEKIT_ASSIGN(auto resources, pve::get_cluster_resources(*client_, pve::ResourceFilter::Vm));
  std::vector<ContainerState> out;
  for (const auto& r : resources) {
    if (r.type != "lxc" || known_vmids.count(r.vmid) ||
        std::find(r.tags.begin(), r.tags.end(), kManagedTag) == r.tags.end())
      continue;
    auto s = recovered_state(r);
    if (!s.ok() && s.error().category() == ErrorCategory::NotFound) continue;  // deleted meanwhile
    if (!s.ok()) return std::move(s).error();
    if (*s) out.push_back(std::move(**s));
  }
  return out;
}

}  // namespace pvekit::oci::proxmox
