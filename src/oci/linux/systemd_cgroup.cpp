#include "oci/linux/systemd_cgroup.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "core/json.h"
#include "core/log.h"
#include "core/process.h"
#include "core/strings.h"
#include "oci/linux/device_filter.h"
#include "oci/linux/stats.h"

namespace pvekit::oci::linux {

using core::Error;
using core::ErrorCategory;
using core::Status;

namespace {

// The D-Bus signature of each UnitPropertyValue alternative, in variant order.
constexpr const char* kPropertyTypes[] = {"b", "t", "s", "ay", "a(ss)", "au"};
static_assert(std::size(kPropertyTypes) == std::variant_size_v<UnitPropertyValue>);

// `value` as an array of unsigned integers no larger than `max`.
template <typename T>
std::optional<std::vector<T>> unsigned_array(const core::Json& value, uint64_t max) {
  if (!value.is_array()) return std::nullopt;
  std::vector<T> out;
  for (const auto& v : value) {
    if (!v.is_number_unsigned() || v.get<uint64_t>() > max) return std::nullopt;
    out.push_back(static_cast<T>(v.get<uint64_t>()));
  }
  return out;
}

std::optional<UnitPropertyValue> property_value(const std::string& type, const core::Json& value) {
  if (type == "b" && value.is_boolean()) return value.get<bool>();
  if (type == "t" && value.is_number_unsigned()) return value.get<uint64_t>();
  if (type == "s" && value.is_string()) return value.get<std::string>();
  if (type == "ay") {
    if (auto bytes = unsigned_array<uint8_t>(value, UINT8_MAX)) return *bytes;
  }
  if (type == "au") {
    if (auto words = unsigned_array<uint32_t>(value, UINT32_MAX)) return *words;
  }
  if (type == "a(ss)" && value.is_array()) {
    std::vector<DeviceAllowEntry> entries;
    for (const auto& e : value) {
      if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_string()) return std::nullopt;
      entries.emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
    }
    return entries;
  }
  return std::nullopt;
}

Error bad_path(const std::string& cgroups_path, const std::string& why) {
  return Error(ErrorCategory::Config, "linux.cgroupsPath: \"" + cgroups_path + "\" " + why)
      .with_detail("field", "linux.cgroupsPath");
}

// systemd's unit name alphabet (unit-name.c VALID_CHARS), "@" aside.
bool valid_unit_chars(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' || c == '-' ||
           c == '_' || c == '.' || c == '\\';
  });
}

Error bad_value(const std::string& file, const std::string& value) {
  return Error(ErrorCategory::Config, "cgroup " + file + ": \"" + value + "\" cannot be given to systemd");
}

// A value of a *.max file or a memory protection: "max" or a number of bytes.
core::Result<uint64_t> limit(const std::string& file, const std::string& value) {
  if (value == "max") return kSystemdInfinity;
  auto v = parse_u64(value);
  if (!v) return bad_value(file, value);
  return *v;
}

// "0-3,8" -> the byte mask systemd's AllowedCPUs/AllowedMemoryNodes take,
// lowest cpu in the lowest bit of the first byte (runc's RangeToBits).
core::Result<std::vector<uint8_t>> range_to_mask(const std::string& file, const std::string& list) {
  constexpr uint64_t kMaxIndex = 65535;  // beyond any machine; a hostile "0-4000000000" allocates nothing
  std::vector<uint8_t> mask;
  for (const auto& part : core::split(list, ',', true)) {
    std::string item(core::trim(part));
    auto dash = item.find('-');
    auto first = parse_u64(item.substr(0, dash));
    auto last = dash == std::string::npos ? first : parse_u64(item.substr(dash + 1));
    if (!first || !last || *first > *last || *last > kMaxIndex) return bad_value(file, list);
    if (mask.size() <= *last / 8) mask.resize(*last / 8 + 1, 0);
    for (uint64_t i = *first; i <= *last; ++i) mask[i / 8] = static_cast<uint8_t>(mask[i / 8] | (1u << (i % 8)));
  }
  if (mask.empty()) return bad_value(file, list);
  return mask;
}

// cpu.max "quota period": systemd keeps the quota as a whole percentage of a
// cpu, so a fraction is rounded up to the next 10 ms per second (runc's
// addCpuQuota) and the exact quota goes to cpu.max afterwards.
core::Result<std::vector<UnitProperty>> cpu_max(const std::string& value) {
  auto fields = core::split(value, ' ', true);
  if (fields.empty() || fields.size() > 2) return bad_value("cpu.max", value);
  uint64_t period = 100000;
  if (fields.size() == 2) {
    auto p = parse_u64(fields[1]);
    if (!p || *p == 0) return bad_value("cpu.max", value);
    period = *p;
  }
  uint64_t per_sec = kSystemdInfinity;
  if (fields[0] != "max") {
    auto quota = parse_u64(fields[0]);
    if (!quota || *quota > UINT64_MAX / 1000000) return bad_value("cpu.max", value);
    per_sec = *quota * 1000000 / period;
    if (per_sec % 10000 != 0) per_sec = (per_sec / 10000 + 1) * 10000;
  }
  return std::vector<UnitProperty>{{"CPUQuotaPeriodUSec", period}, {"CPUQuotaPerSecUSec", per_sec}};
}

bool all_devices(const DeviceRule& r) {
  return r.type == "a" && !r.major && !r.minor && r.access.find('r') != std::string::npos &&
         r.access.find('w') != std::string::npos && r.access.find('m') != std::string::npos;
}

// DeviceAllow entries for one allow rule; nullopt when systemd has no form for it.
std::optional<std::vector<DeviceAllowEntry>> allow_entries(const DeviceRule& r, const DeviceGroupOf& group_of) {
  std::vector<char> types = r.type == "a" ? std::vector<char>{'c', 'b'} : std::vector<char>{r.type.at(0)};
  std::vector<DeviceAllowEntry> out;
  for (char type : types) {
    std::string kind = type == 'c' ? "char" : "block";
    if (!r.major) {
      if (r.minor) return std::nullopt;  // "*:N"
      out.emplace_back(kind + "-*", r.access);
    } else if (!r.minor) {
      std::string group = group_of(type, *r.major);
      if (group.empty()) return std::nullopt;
      out.emplace_back(kind + "-" + group, r.access);
    } else {
      if (r.type == "a") return std::nullopt;
      out.emplace_back("/dev/" + kind + "/" + std::to_string(*r.major) + ":" + std::to_string(*r.minor), r.access);
    }
  }
  return out;
}

}  // namespace

std::string unit_properties_to_json(const std::vector<UnitProperty>& properties) {
  core::Json out = core::Json::array();
  for (const auto& p : properties) {
    core::Json value;
    std::visit([&](const auto& v) { value = v; }, p.value);
    out.push_back({{"name", p.name}, {"type", kPropertyTypes[p.value.index()]}, {"value", std::move(value)}});
  }
  return out.dump();
}

core::Result<std::vector<UnitProperty>> unit_properties_from_json(const std::string& text) {
  PVEKIT_ASSIGN(auto json, core::parse_json(text, "unit properties"));
  if (!json.is_array()) return Error(ErrorCategory::Usage, "unit properties: not a JSON array");
  std::vector<UnitProperty> out;
  for (size_t i = 0; i < json.size(); ++i) {
    const auto& e = json[i];
    auto bad = [&](const std::string& why) {
      return Error(ErrorCategory::Usage, "unit property " + std::to_string(i) + ": " + why);
    };
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || e["name"].get<std::string>().empty())
      return bad("needs a non-empty string \"name\"");
    if (!e.contains("type") || !e["type"].is_string()) return bad("needs a string \"type\"");
    const std::string type = e["type"].get<std::string>();
    auto value = property_value(type, e.contains("value") ? e["value"] : core::Json());
    if (!value) return bad("\"value\" is not a D-Bus " + type + " (types: b, t, s, ay, a(ss), au)");
    out.push_back({e["name"].get<std::string>(), std::move(*value)});
  }
  return out;
}

core::Result<SystemdUnitPath> parse_systemd_cgroups_path(const std::string& cgroups_path, const std::string& id) {
  std::string spec = cgroups_path.empty() ? ":lxcri:" + id : cgroups_path;
  auto parts = core::split(spec, ':', false);
  if (parts.size() != 3)
    return bad_path(cgroups_path, "is not of the form \"slice:prefix:name\" the systemd cgroup driver takes");
  const std::string &slice = parts[0], &prefix = parts[1], &name = parts[2];
  for (const auto& part : parts)
    if (!valid_unit_chars(part)) return bad_path(cgroups_path, "has a character a systemd unit name cannot have");
  if (name.empty()) return bad_path(cgroups_path, "names no unit (the part after the last ':')");
  SystemdUnitPath out;
  if (!slice.empty()) {
    if (auto expanded = expand_slice(slice); !expanded.ok())
      return bad_path(cgroups_path, "has an " + expanded.error().message());
    out.slice = slice;
  }
  out.unit = name.ends_with(".slice") ? name : (prefix.empty() ? name : prefix + "-" + name) + ".scope";
  if (out.unit.size() > 255) return bad_path(cgroups_path, "makes a unit name longer than systemd's 255 characters");
  return out;
}

core::Result<std::string> expand_slice(const std::string& slice) {
  const std::string suffix = ".slice";
  auto invalid = [&] { return Error(ErrorCategory::Config, "invalid slice name \"" + slice + "\""); };
  if (slice.size() <= suffix.size() || !slice.ends_with(suffix) || slice.find('/') != std::string::npos)
    return invalid();
  std::string name = slice.substr(0, slice.size() - suffix.size());
  if (name == "-") return std::string("/");
  std::string path, prefix;
  for (const auto& component : core::split(name, '-', false)) {
    if (component.empty()) return invalid();  // "a--b.slice", "-a.slice"
    path += "/" + prefix + component + suffix;
    prefix += component + "-";
  }
  return path;
}

core::Result<std::string> systemd_cgroup_path(const SystemdUnitPath& path) {
  PVEKIT_ASSIGN(auto slice, expand_slice(path.slice));
  return (slice == "/" ? "" : slice) + "/" + path.unit;
}

core::Result<std::vector<UnitProperty>> systemd_resource_properties(
    const std::vector<std::pair<std::string, std::string>>& writes) {
  static const std::map<std::string, std::string> memory = {{"memory.max", "MemoryMax"},
                                                            {"memory.high", "MemoryHigh"},
                                                            {"memory.low", "MemoryLow"},
                                                            {"memory.min", "MemoryMin"},
                                                            {"memory.swap.max", "MemorySwapMax"}};
  std::vector<UnitProperty> out;
  for (const auto& [file, raw] : writes) {
    std::string value(core::trim(raw));
    if (auto it = memory.find(file); it != memory.end()) {
      PVEKIT_ASSIGN(uint64_t v, limit(file, value));
      out.push_back({it->second, v});
    } else if (file == "pids.max") {
      PVEKIT_ASSIGN(uint64_t v, limit(file, value));
      out.push_back({"TasksMax", v});
    } else if (file == "cpu.weight") {
      auto v = parse_u64(value);
      if (!v || *v < 1 || *v > 10000) return bad_value(file, value);
      out.push_back({"CPUWeight", *v});
    } else if (file == "cpu.max") {
      PVEKIT_ASSIGN(auto props, cpu_max(value));
      out.insert(out.end(), props.begin(), props.end());
    } else if (file == "cpuset.cpus" || file == "cpuset.mems") {
      PVEKIT_ASSIGN(auto mask, range_to_mask(file, value));
      out.push_back({file == "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes", std::move(mask)});
    } else if (file == "io.weight" && value.starts_with("default ")) {
      auto v = parse_u64(value.substr(8));
      if (!v || *v < 1 || *v > 10000) return bad_value(file, value);
      out.push_back({"IOWeight", *v});
    }
  }
  return out;
}

std::vector<UnitProperty> systemd_device_properties(const std::vector<DeviceRule>& rules,
                                                    const DeviceGroupOf& group_of) {
  // Rules before the last one about every device cannot matter.
  auto last_all = std::find_if(rules.rbegin(), rules.rend(), all_devices);
  if (last_all == rules.rend()) return {};
  auto first = last_all.base() - 1;
  if (first->allow) {
    if (first + 1 != rules.end()) return {};  // denies on top of allow-all
    return {{"DevicePolicy", std::string("auto")}, {"DeviceAllow", std::vector<DeviceAllowEntry>{}}};
  }
  std::vector<DeviceAllowEntry> allowed;
  for (auto it = first + 1; it != rules.end(); ++it) {
    if (!it->allow || it->access.empty()) return {};
    auto entries = allow_entries(*it, group_of);
    if (!entries) return {};
    allowed.insert(allowed.end(), entries->begin(), entries->end());
  }
  return {{"DevicePolicy", std::string("strict")}, {"DeviceAllow", std::move(allowed)}};
}

std::string proc_devices_group(char type, int64_t major) {
  std::ifstream in("/proc/devices");
  std::string line;
  char section = 0;
  while (std::getline(in, line)) {
    std::string text(core::trim(line));
    if (text == "Character devices:") section = 'c';
    else if (text == "Block devices:") section = 'b';
    else if (section == type) {
      std::istringstream fields(text);
      int64_t number = -1;
      std::string name;
      if (fields >> number >> name && number == major) return name;
    }
  }
  return "";
}

bool systemd_booted() {
  struct stat st{};
  return ::stat("/run/systemd/system", &st) == 0 && S_ISDIR(st.st_mode);
}

std::vector<UnitProperty> scope_properties(const std::string& id, const SystemdUnitPath& path, pid_t pid) {
  std::vector<UnitProperty> p = {{"Description", "lxcri container " + id}};
  // A unit that is itself a slice is placed by a dependency; a scope by Slice=.
  if (path.unit.ends_with(".slice")) p.push_back({"Wants", path.slice});
  else p.push_back({"Slice", path.slice});
  p.push_back({"PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}});
  if (!path.unit.ends_with(".slice")) p.push_back({"Delegate", true});
  // Accounting on from the start: the kernel cannot charge memory to a cgroup
  // joined later, and the figures of `events --stats` need every controller.
  for (const char* accounting : {"MemoryAccounting", "CPUAccounting", "IOAccounting", "TasksAccounting"})
    p.push_back({accounting, true});
  p.push_back({"DefaultDependencies", false});
  return p;
}

namespace {

class SystemdManager final : public CgroupManager {
 public:
  SystemdManager(std::string root, std::string id, SystemdUnitPath path, std::string cgroup_path,
                 SystemdConnector connect, bool unit_exists)
      : v2_(make_cgroup_manager(CgroupLayout::V2, root, cgroup_path)),
        id_(std::move(id)),
        path_(std::move(path)),
        connect_(std::move(connect)),
        unit_exists_(unit_exists) {}

  // Connects before the container's init is cloned: a host where systemd
  // cannot be reached fails the create with nothing made.
  Status create() override {
    auto connected = bus();
    if (!connected.ok()) return connected.error();
    return core::ok();
  }

  Status apply(const Resources& r) override {
    if (!unit_exists_) {
      pending_ = r;
      return core::ok();
    }
    PVEKIT_ASSIGN(auto props, properties_of(r));
    PVEKIT_ASSIGN(SystemdBus * b, bus());
    PVEKIT_TRY(b->set_unit_properties(path_.unit, props).wrap("systemd unit " + path_.unit));
    return v2_->apply(r);
  }

  Status add_process(pid_t pid) override { return v2_->add_process(pid); }
  Status add_process(pid_t pid, const std::map<std::string, std::string>& sub) override {
    return v2_->add_process(pid, sub);
  }

  // The scope is made with its first process in it (systemd refuses an empty
  // one), so the create's init is born first and handed over by pid.
  core::Result<pid_t> spawn_inside(const std::map<std::string, std::string>& sub,
                                   const std::function<pid_t()>& spawn) override {
    if (unit_exists_) return v2_->spawn_inside(sub, spawn);
    std::vector<UnitProperty> resources;
    if (pending_) {
      PVEKIT_ASSIGN(resources, properties_of(*pending_));
    }
    PVEKIT_ASSIGN(SystemdBus * b, bus());
    pid_t pid = spawn();
    if (pid < 0) return Error::system("fork", errno);
    auto props = scope_properties(id_, path_, pid);
    props.insert(props.end(), resources.begin(), resources.end());
    if (Status started = b->start_transient_unit(path_.unit, props); !started.ok()) {
      core::kill_and_reap(pid);
      return std::move(started).wrap("start systemd unit " + path_.unit).error();
    }
    unit_exists_ = true;
    // What systemd has no property for (io.max, hugetlb, the device filter, unified).
    if (pending_) {
      if (Status applied = v2_->apply(*pending_); !applied.ok()) {
        core::kill_and_reap(pid);
        return applied.error();
      }
    }
    return pid;
  }

  Status freeze() override { return v2_->freeze(); }
  Status thaw() override { return v2_->thaw(); }
  core::Result<bool> kill_all() override { return v2_->kill_all(); }
  core::Result<std::vector<pid_t>> pids() override { return v2_->pids(); }

  Status destroy() override {
    if (unit_exists_) {
      PVEKIT_ASSIGN(SystemdBus * b, bus());
      PVEKIT_TRY(b->stop_unit(path_.unit).wrap("stop systemd unit " + path_.unit));
    }
    // systemd removes the scope's cgroup; what the container made below it
    // while delegated may outlive the unit.
    return v2_->destroy();
  }

  std::vector<std::pair<std::string, std::string>> container_binds() const override { return {}; }
  std::vector<std::string> dirs() const override { return v2_->dirs(); }

 private:
  core::Result<SystemdBus*> bus() {
    if (!bus_) {
      PVEKIT_ASSIGN(bus_, connect_());
    }
    return bus_.get();
  }

  core::Result<std::vector<UnitProperty>> properties_of(const Resources& r) const {
    auto has = [&](const std::string& file) {
      for (const auto& dir : v2_->dirs())
        if (std::ifstream(dir + "/" + file).good()) return true;
      return false;
    };
    PVEKIT_ASSIGN(auto writes, v2_writes(r, has));
    PVEKIT_ASSIGN(auto props, systemd_resource_properties(writes));
    auto devices = systemd_device_properties(effective_device_rules(r.devices), proc_devices_group);
    props.insert(props.end(), devices.begin(), devices.end());
    return props;
  }

  std::unique_ptr<CgroupManager> v2_;
  std::string id_;
  SystemdUnitPath path_;
  SystemdConnector connect_;
  bool unit_exists_;
  std::optional<Resources> pending_;
  std::unique_ptr<SystemdBus> bus_;
};

}  // namespace

core::Result<std::unique_ptr<CgroupManager>> make_systemd_cgroup_manager(std::string root, std::string id,
                                                                         SystemdUnitPath path, SystemdConnector connect,
                                                                         bool unit_exists) {
  PVEKIT_ASSIGN(std::string cgroup_path, systemd_cgroup_path(path));
  return std::unique_ptr<CgroupManager>(std::make_unique<SystemdManager>(
      std::move(root), std::move(id), std::move(path), std::move(cgroup_path), std::move(connect), unit_exists));
}

}  // namespace pvekit::oci::linux
