#include <algorithm>
#include <set>

#include "core/log.h"
#include "oci/commands.h"
#include "oci/proxmox_helper.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

namespace {

// Like Go's tabwriter with minwidth 12 and padding 3, as runc's list.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(12);
      width[i] = std::max(width[i], row[i].size() + 3);
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i)
      line += i + 1 == row.size() ? row[i] : row[i] + std::string(width[i] - row[i].size(), ' ');
    out << line << "\n";
  }
}

// Containers lxcri made in the Proxmox cluster whose state directory is gone
// get it back (as `state` and `kill` do for one id), so they are listed and
// later commands find them. A cluster that cannot be asked costs a warning,
// never the local list.
void recover_lost_proxmox_containers(Context& ctx, std::vector<std::string>& ids) {
  std::set<int64_t> known;
  for (const auto& id : ids) {
    auto s = ctx.store.load(id);
    if (s.ok() && s->backend == "proxmox") known.insert(s->pve_vmid);
  }
  auto proxmox = proxmox_functions();
  auto found = proxmox.ok() ? (*proxmox)->list_managed(ctx.global.config, known)
                           : core::Result<std::vector<ContainerState>>(proxmox.error());
  if (!found.ok()) {
    spdlog::warn("listing lxcri's containers in the Proxmox cluster: {}; showing local state only",
                 found.error().to_string());
    return;
  }
  for (const auto& state : *found) {
    if (!validate_id(state.id).ok() || std::find(ids.begin(), ids.end(), state.id) != ids.end()) continue;
    auto restored = restore_state(ctx, state);
    if (!restored.ok()) {
      spdlog::warn("{}", restored.error().to_string());
      continue;
    }
    ids.push_back(state.id);
  }
  std::sort(ids.begin(), ids.end());
}

}  // namespace

core::Status cmd_list(Context& ctx, const ListOptions& o) {
  if (o.format != "table" && o.format != "json")
    return Error(ErrorCategory::Usage, "invalid format option \"" + o.format + "\" (table or json)");
  PVEKIT_ASSIGN(auto ids, ctx.store.list());
  // Only with a cluster configured: native-only users never wait on one.
  if (!ctx.global.config.proxmox_api.hosts.empty()) recover_lost_proxmox_containers(ctx, ids);
  std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER", "BACKEND"}};
  auto json = nlohmann::ordered_json::array();
  for (const auto& id : ids) {
    if (o.quiet) {
      ctx.out << id << "\n";
      continue;
    }
    nlohmann::ordered_json j;
    ContainerState state;
    if (auto c = load_container(ctx, id); c.ok()) {
      j = state_json(*c);
      state = c->state;
    } else if (c.error().category() == ErrorCategory::NotFound) {
      continue;  // deleted meanwhile
    } else if (auto stored = ctx.store.load(id); stored.ok()) {
      // The live status cannot be read (an unreachable cluster): the stored one, with a warning.
      spdlog::warn("container {}: {}; showing its last known status", id, c.error().to_string());
      j = state_json(*stored, stored->status);
      state = *stored;
    } else {
      continue;
    }
    rows.push_back({id, std::to_string(j["pid"].get<int>()), j["status"].get<std::string>(), state.bundle,
                    state.created, state.owner, state.backend});
    json.push_back(std::move(j));
  }
  if (o.quiet) return core::ok();
  // runc encodes an empty list as a nil slice: "null".
  if (o.format == "json") ctx.out << (json.empty() ? std::string("null") : json.dump()) << "\n";
  else print_table(ctx.out, rows);
  return core::ok();
}

}  // namespace pvekit::oci
