#include "oci/spec.h"

#include <algorithm>
#include <limits>

#include "core/files.h"

namespace pvekit::oci {
namespace {

using core::Error;
using core::ErrorCategory;

// Thrown inside this file only; parse_spec turns it into an Error naming the field.
struct FieldError {
  std::string field;
  std::string message;
};

std::string join_path(const std::string& base, const std::string& key) {
  return base.empty() ? key : base + "." + key;
}

std::string index_path(const std::string& base, size_t i) {
  return base + "[" + std::to_string(i) + "]";
}

[[noreturn]] void fail(const std::string& field, const std::string& message) {
  throw FieldError{field, message};
}

void expect(const Json& v, bool okay, const std::string& field, const char* type) {
  if (!okay) fail(field, std::string("must be ") + type + ", got " + core::json_type_name(v));
}

// A view on one JSON object that knows its own path for error messages.
class Obj {
 public:
  Obj(const Json& j, std::string path) : j_(j), path_(std::move(path)) {
    expect(j_, j_.is_object(), path_.empty() ? "config" : path_, "an object");
  }
  const std::string& path() const { return path_; }
  const Json& json() const { return j_; }
  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const Json& at(const char* key) const { return j_.at(key); }
  std::string field(const char* key) const { return join_path(path_, key); }

  std::string str(const char* key, std::string fallback = "") const {
    if (!has(key)) return fallback;
    expect(at(key), at(key).is_string(), field(key), "a string");
    return at(key).get<std::string>();
  }
  std::string required_str(const char* key) const {
    if (!has(key)) fail(field(key), "is required");
    return str(key);
  }
  bool boolean(const char* key, bool fallback = false) const {
    if (!has(key)) return fallback;
    expect(at(key), at(key).is_boolean(), field(key), "a boolean");
    return at(key).get<bool>();
  }
  template <typename T>
  std::optional<T> num(const char* key) const {
    if (!has(key)) return std::nullopt;
    return number<T>(at(key), field(key));
  }
  template <typename T>
  static T number(const Json& v, const std::string& field) {
    expect(v, v.is_number_integer(), field, "an integer");
    if constexpr (std::is_unsigned_v<T>) {
      if (v.is_number_unsigned()) {
        auto u = v.get<uint64_t>();
        if (u > std::numeric_limits<T>::max()) fail(field, "is out of range");
        return static_cast<T>(u);
      }
      auto s = v.get<int64_t>();
      if (s < 0) fail(field, "must not be negative");
      if (static_cast<uint64_t>(s) > std::numeric_limits<T>::max()) fail(field, "is out of range");
      return static_cast<T>(s);
    } else {
      if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max()))
        fail(field, "is out of range");
      auto s = v.get<int64_t>();
      if (s < std::numeric_limits<T>::min() || s > std::numeric_limits<T>::max())
        fail(field, "is out of range");
      return static_cast<T>(s);
    }
  }
  std::vector<std::string> strings(const char* key) const {
    std::vector<std::string> out;
    if (!has(key)) return out;
    expect(at(key), at(key).is_array(), field(key), "an array");
    for (size_t i = 0; i < at(key).size(); ++i) {
      const Json& v = at(key)[i];
      expect(v, v.is_string(), index_path(field(key), i), "a string");
      out.push_back(v.get<std::string>());
    }
    return out;
  }
  template <typename F>
  void each(const char* key, F&& fn) const {
    if (!has(key)) return;
    expect(at(key), at(key).is_array(), field(key), "an array");
    for (size_t i = 0; i < at(key).size(); ++i) fn(Obj(at(key)[i], index_path(field(key), i)));
  }
  std::map<std::string, std::string> string_map(const char* key) const {
    std::map<std::string, std::string> out;
    if (!has(key)) return out;
    expect(at(key), at(key).is_object(), field(key), "an object");
    for (const auto& [k, v] : at(key).items()) {
      expect(v, v.is_string(), field(key) + "." + k, "a string");
      out[k] = v.get<std::string>();
    }
    return out;
  }

 private:
  const Json& j_;
  std::string path_;
};

User parse_user(const Obj& o) {
  User u;
  u.uid = o.num<uint32_t>("uid").value_or(0);
  u.gid = o.num<uint32_t>("gid").value_or(0);
  u.umask = o.num<uint32_t>("umask");
  if (o.has("additionalGids")) {
    expect(o.at("additionalGids"), o.at("additionalGids").is_array(), o.field("additionalGids"), "an array");
    for (size_t i = 0; i < o.at("additionalGids").size(); ++i)
      u.additional_gids.push_back(
          Obj::number<uint32_t>(o.at("additionalGids")[i], index_path(o.field("additionalGids"), i)));
  }
  return u;
}

Process parse_process(const Obj& o) {
  Process p;
  p.terminal = o.boolean("terminal");
  if (o.has("user")) p.user = parse_user(Obj(o.at("user"), o.field("user")));
  p.args = o.strings("args");
  p.env = o.strings("env");
  p.cwd = o.required_str("cwd");
  if (o.has("capabilities")) {
    Obj c(o.at("capabilities"), o.field("capabilities"));
    p.capabilities = Capabilities{c.strings("bounding"), c.strings("effective"),
                                  c.strings("inheritable"), c.strings("permitted"),
                                  c.strings("ambient")};
  }
  o.each("rlimits", [&](const Obj& r) {
    p.rlimits.push_back({r.required_str("type"), r.num<uint64_t>("soft").value_or(0),
                         r.num<uint64_t>("hard").value_or(0)});
  });
  p.no_new_privileges = o.boolean("noNewPrivileges");
  p.oom_score_adj = o.num<int>("oomScoreAdj");
  return p;
}

Hook parse_hook(const Obj& o) {
  Hook h{o.required_str("path"), o.strings("args"), o.strings("env"), o.num<int>("timeout")};
  return h;
}

Hooks parse_hooks(const Obj& o) {
  Hooks h;
  auto list = [&](const char* key, std::vector<Hook>& out) {
    o.each(key, [&](const Obj& e) { out.push_back(parse_hook(e)); });
  };
  list("prestart", h.prestart);
  list("createRuntime", h.create_runtime);
  list("createContainer", h.create_container);
  list("startContainer", h.start_container);
  list("poststart", h.poststart);
  list("poststop", h.poststop);
  return h;
}

std::vector<IdMapping> parse_mappings(const Obj& o, const char* key) {
  std::vector<IdMapping> out;
  o.each(key, [&](const Obj& m) {
    if (!m.has("containerID") || !m.has("hostID") || !m.has("size"))
      fail(m.path(), "containerID, hostID and size are required");
    out.push_back({*m.num<uint32_t>("containerID"), *m.num<uint32_t>("hostID"), *m.num<uint32_t>("size")});
  });
  return out;
}

BlockIoResources parse_block_io(const Obj& o) {
  BlockIoResources b{o.num<uint16_t>("weight"), o.num<uint16_t>("leafWeight"), {}, {}, {}, {}, {}};
  auto device_numbers = [](const Obj& d) {
    if (!d.has("major")) fail(d.field("major"), "is required");
    if (!d.has("minor")) fail(d.field("minor"), "is required");
    return std::make_pair(*d.num<int64_t>("major"), *d.num<int64_t>("minor"));
  };
  o.each("weightDevice", [&](const Obj& d) {
    auto [major, minor] = device_numbers(d);
    b.weight_devices.push_back({major, minor, d.num<uint16_t>("weight"), d.num<uint16_t>("leafWeight")});
  });
  auto throttle = [&](const char* key, std::vector<BlockIoThrottleDevice>& out) {
    o.each(key, [&](const Obj& d) {
      auto [major, minor] = device_numbers(d);
      if (!d.has("rate")) fail(d.field("rate"), "is required");
      out.push_back({major, minor, *d.num<uint64_t>("rate")});
    });
  };
  throttle("throttleReadBpsDevice", b.throttle_read_bps);
  throttle("throttleWriteBpsDevice", b.throttle_write_bps);
  throttle("throttleReadIOPSDevice", b.throttle_read_iops);
  throttle("throttleWriteIOPSDevice", b.throttle_write_iops);
  return b;
}

Resources parse_resources(const Obj& o) {
  Resources r;
  o.each("devices", [&](const Obj& d) {
    if (!d.has("allow")) fail(d.field("allow"), "is required");
    r.devices.push_back({d.boolean("allow"), d.str("type", "a"), d.num<int64_t>("major"),
                         d.num<int64_t>("minor"), d.str("access", "rwm")});
  });
  if (o.has("memory")) {
    Obj m(o.at("memory"), o.field("memory"));
    r.memory = MemoryResources{m.num<int64_t>("limit"), m.num<int64_t>("reservation"),
                               m.num<int64_t>("swap"), m.num<uint64_t>("swappiness"),
                               m.has("disableOOMKiller") ? std::optional<bool>(m.boolean("disableOOMKiller"))
                                                         : std::nullopt};
  }
  if (o.has("cpu")) {
    Obj c(o.at("cpu"), o.field("cpu"));
    r.cpu = CpuResources{c.num<uint64_t>("shares"), c.num<int64_t>("quota"),
                         c.num<uint64_t>("period"), c.str("cpus"), c.str("mems")};
  }
  if (o.has("pids")) {
    Obj p(o.at("pids"), o.field("pids"));
    if (!p.has("limit")) fail(p.field("limit"), "is required");
    r.pids_limit = p.num<int64_t>("limit");
  }
  if (o.has("blockIO")) r.block_io = parse_block_io(Obj(o.at("blockIO"), o.field("blockIO")));
  o.each("hugepageLimits", [&](const Obj& h) {
    if (!h.has("limit")) fail(h.field("limit"), "is required");
    r.hugepage_limits.push_back({h.required_str("pageSize"), *h.num<uint64_t>("limit")});
  });
  if (o.has("network")) {
    Obj n(o.at("network"), o.field("network"));
    NetworkResources net{n.num<uint32_t>("classID"), {}};
    n.each("priorities", [&](const Obj& p) {
      if (!p.has("priority")) fail(p.field("priority"), "is required");
      net.priorities.emplace_back(p.required_str("name"), *p.num<uint32_t>("priority"));
    });
    r.network = net;
  }
  if (o.has("rdma")) {
    Obj rdma(o.at("rdma"), o.field("rdma"));
    for (const auto& [device, limits] : rdma.json().items()) {
      Obj l(limits, join_path(rdma.path(), device));
      r.rdma[device] = {l.num<uint32_t>("hcaHandles"), l.num<uint32_t>("hcaObjects")};
    }
  }
  if (o.has("unified")) {
    Obj u(o.at("unified"), o.field("unified"));
    for (const auto& [file, value] : u.json().items()) r.unified[file] = u.str(file.c_str());
  }
  return r;
}

Seccomp parse_seccomp(const Obj& o) {
  Seccomp s;
  s.default_action = o.required_str("defaultAction");
  s.default_errno_ret = o.num<uint32_t>("defaultErrnoRet");
  s.architectures = o.strings("architectures");
  s.flags = o.strings("flags");
  s.listener_path = o.str("listenerPath");
  s.listener_metadata = o.str("listenerMetadata");
  o.each("syscalls", [&](const Obj& e) {
    SeccompSyscall sc{e.strings("names"), e.required_str("action"), e.num<uint32_t>("errnoRet"), {}};
    if (sc.names.empty()) fail(e.field("names"), "must name at least one syscall");
    e.each("args", [&](const Obj& a) {
      if (!a.has("index") || !a.has("value") || !a.has("op"))
        fail(a.path(), "index, value and op are required");
      sc.args.push_back({*a.num<uint32_t>("index"), *a.num<uint64_t>("value"),
                         a.num<uint64_t>("valueTwo").value_or(0), a.str("op")});
    });
    s.syscalls.push_back(std::move(sc));
  });
  return s;
}

LinuxConfig parse_linux(const Obj& o) {
  LinuxConfig l;
  o.each("namespaces", [&](const Obj& n) { l.namespaces.push_back({n.required_str("type"), n.str("path")}); });
  l.uid_mappings = parse_mappings(o, "uidMappings");
  l.gid_mappings = parse_mappings(o, "gidMappings");
  o.each("devices", [&](const Obj& d) {
    l.devices.push_back({d.required_str("path"), d.required_str("type"),
                         d.num<int64_t>("major").value_or(0), d.num<int64_t>("minor").value_or(0),
                         d.num<uint32_t>("fileMode"), d.num<uint32_t>("uid"), d.num<uint32_t>("gid")});
  });
  l.cgroups_path = o.str("cgroupsPath");
  if (o.has("resources")) l.resources = parse_resources(Obj(o.at("resources"), o.field("resources")));
  l.rootfs_propagation = o.str("rootfsPropagation");
  l.masked_paths = o.strings("maskedPaths");
  l.readonly_paths = o.strings("readonlyPaths");
  l.sysctl = o.string_map("sysctl");
  if (o.has("seccomp")) l.seccomp = parse_seccomp(Obj(o.at("seccomp"), o.field("seccomp")));
  return l;
}

Spec parse_document(const Json& doc) {
  Obj o(doc, "");
  Spec s;
  s.oci_version = o.required_str("ociVersion");
  if (o.has("process")) s.process = parse_process(Obj(o.at("process"), "process"));
  if (!o.has("root")) fail("root", "is required");
  Obj root(o.at("root"), "root");
  s.root = Root{root.required_str("path"), root.boolean("readonly")};
  o.each("mounts", [&](const Obj& m) {
    s.mounts.push_back({m.required_str("destination"), m.str("type"), m.str("source"), m.strings("options")});
  });
  s.hostname = o.str("hostname");
  s.domainname = o.str("domainname");
  if (o.has("hooks")) s.hooks = parse_hooks(Obj(o.at("hooks"), "hooks"));
  s.annotations = o.string_map("annotations");
  if (o.has("linux")) s.linux = parse_linux(Obj(o.at("linux"), "linux"));
  return s;
}

}  // namespace

bool LinuxConfig::has_namespace(const std::string& type) const {
  return find_namespace(type) != nullptr;
}

const Namespace* LinuxConfig::find_namespace(const std::string& type) const {
  for (const auto& ns : namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

bool Seccomp::uses_notify() const {
  if (default_action == "SCMP_ACT_NOTIFY") return true;
  return std::any_of(syscalls.begin(), syscalls.end(),
                     [](const SeccompSyscall& sc) { return sc.action == "SCMP_ACT_NOTIFY"; });
}

bool has_dotdot(const std::string& path) {
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    if (path.compare(start, end - start, "..") == 0 && end - start == 2) return true;
    start = end + 1;
  }
  return false;
}

core::Result<Spec> parse_spec(const Json& doc) {
  Spec spec;
  try {
    spec = parse_document(doc);
  } catch (const FieldError& e) {
    return Error(ErrorCategory::Config, e.field + ": " + e.message).with_detail("field", e.field);
  }
  PVEKIT_TRY(validate_spec(spec));
  return spec;
}

core::Result<Spec> parse_spec_text(const std::string& text) {
  PVEKIT_ASSIGN(auto doc, core::parse_json(text, "config.json"));
  return parse_spec(doc).wrap("config.json");
}

core::Result<Spec> load_spec(const std::string& bundle) {
  std::string path = bundle + "/config.json";
  PVEKIT_ASSIGN(auto text, core::read_file(path));
  return parse_spec_text(text);
}

}  // namespace pvekit::oci
