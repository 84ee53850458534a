#include <iostream>
#include <iterator>

#include "core/files.h"
#include "core/strings.h"
#include "oci/commands.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

namespace {

// runc's memory values: bytes with an optional k/m/g/t suffix, or -1 for unlimited.
core::Result<int64_t> parse_memory(const std::string& flag, const std::string& text) {
  if (core::trim(text) == "-1") return -1;
  auto bytes = core::parse_size(text);
  if (!bytes || *bytes > static_cast<uint64_t>(INT64_MAX))
    return Error(ErrorCategory::Usage, "--" + flag + ": invalid size \"" + text + "\"");
  return static_cast<int64_t>(*bytes);
}

}  // namespace

core::Result<Json> update_flags_json(const UpdateOptions& o) {
  if (o.kernel_memory || o.kernel_memory_tcp)
    return Error(ErrorCategory::Usage, "--kernel-memory: kernel memory limits are not supported (deprecated by the kernel)");
  Json r = Json::object();
  const std::pair<const char*, const std::optional<std::string>*> memory[] = {
      {"memory", &o.memory}, {"memory-swap", &o.memory_swap}, {"memory-reservation", &o.memory_reservation}};
  const char* keys[] = {"limit", "swap", "reservation"};
  for (size_t i = 0; i < 3; ++i) {
    if (!*memory[i].second) continue;
    PVEKIT_ASSIGN(r["memory"][keys[i]], parse_memory(memory[i].first, **memory[i].second));
  }
  if (o.cpu_shares) r["cpu"]["shares"] = *o.cpu_shares;
  if (o.cpu_quota) r["cpu"]["quota"] = *o.cpu_quota;
  if (o.cpu_period) r["cpu"]["period"] = *o.cpu_period;
  if (o.cpuset_cpus) r["cpu"]["cpus"] = *o.cpuset_cpus;
  if (o.cpuset_mems) r["cpu"]["mems"] = *o.cpuset_mems;
  if (o.pids_limit) r["pids"]["limit"] = *o.pids_limit;
  if (o.blkio_weight) {
    if (*o.blkio_weight < 10 || *o.blkio_weight > 1000)
      return Error(ErrorCategory::Usage, "--blkio-weight: must be 10..1000, got " + std::to_string(*o.blkio_weight));
    r["blockIO"]["weight"] = *o.blkio_weight;
  }
  return r;
}

Json merge_json(Json current, const Json& delta) {
  if (!current.is_object() || !delta.is_object()) return delta;
  for (const auto& [key, value] : delta.items())
    current[key] = current.contains(key) ? merge_json(current[key], value) : value;
  return current;
}

core::Status cmd_update(Context& ctx, const UpdateOptions& o) {
  Json delta;
  if (!o.resources_file.empty()) {
    std::string text;
    if (o.resources_file == "-") {
      text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    } else {
      PVEKIT_ASSIGN(text, core::read_file(o.resources_file));
    }
    PVEKIT_ASSIGN(delta, core::parse_json(text, "-r " + o.resources_file));
    if (!delta.is_object()) return Error(ErrorCategory::Usage, "-r " + o.resources_file + ": want a JSON object");
  } else {
    PVEKIT_ASSIGN(delta, update_flags_json(o));
  }
  PVEKIT_ASSIGN(auto c, load_container(ctx, o.id));
  if (c.status == ContainerStatus::Stopped) return Error(ErrorCategory::Conflict, "container " + o.id + " is not running");
  std::string stored_path = ctx.store.dir(o.id) + "/config.json";
  PVEKIT_ASSIGN(auto text, core::read_file(stored_path));
  PVEKIT_ASSIGN(Json doc, core::parse_json(text, stored_path));
  // Validate the change with the spec parser: the delta alone (what is written
  // now), and the merged whole (what later commands read).
  Json only_delta = doc;
  only_delta["linux"]["resources"] = delta;
  only_delta["linux"]["resources"].erase("devices");
  PVEKIT_ASSIGN(auto delta_spec, parse_spec(only_delta).wrap("update"));
  doc["linux"]["resources"] = merge_json(doc["linux"].value("resources", Json::object()), delta);
  if (auto whole = parse_spec(doc).wrap("update"); !whole.ok()) return std::move(whole).error();
  PVEKIT_TRY(c.backend->update(c.state, ResourceUpdate{*delta_spec.linux->resources}));
  return core::write_file_atomic(stored_path, doc.dump(), 0600, core::Durability::RuntimeState);
}

}  // namespace pvekit::oci
