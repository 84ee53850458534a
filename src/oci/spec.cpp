#include "oci/spec.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <utility>

#include "core/files.h"

namespace pvekit::oci {
namespace {

using core::Error;
using core::ErrorCategory;
using namespace std::string_literals;

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

// ---- Number literals --------------------------------------------------------
//
// nlohmann::json turns a number literal that is not an exact 64-bit integer
// into a double (1e23, 1.5) and throws out_of_range for one no double holds
// (1e999). The first loses what the user wrote, the second escapes every
// caller. parse_spec_text therefore replaces each such literal with a marker
// object holding its text before parsing, and the reader of the field refuses
// it by name: "process.user.uid: 1e999 is not an integer in 0..4294967295".
// config.json has no fractional fields, so a marker is never a value.

const std::string kNumberMarker = "\0pvekit:number"s;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view t) {
  size_t i = 0;
  auto digits = [&] {
    size_t from = i;
    while (i < t.size() && is_digit(t[i])) ++i;
    return i > from;
  };
  if (i < t.size() && t[i] == '-') ++i;
  if (i < t.size() && t[i] == '0') {
    ++i;
  } else if (!digits()) {
    return false;
  }
  if (i < t.size() && t[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (!digits()) return false;
  }
  return i == t.size();
}

// True when nlohmann::json keeps the literal as an exact integer (int64 or uint64).
bool is_exact_integer(std::string_view t) {
  if (t.find_first_of(".eE") != std::string_view::npos) return false;
  const char* end = t.data() + t.size();
  if (t.front() == '-') {
    int64_t v = 0;
    auto r = std::from_chars(t.data(), end, v);
    return r.ec == std::errc() && r.ptr == end;
  }
  uint64_t u = 0;
  auto r = std::from_chars(t.data(), end, u);
  return r.ec == std::errc() && r.ptr == end;
}

bool is_number_char(char c) { return is_digit(c) || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }

// Replaces every number literal outside strings that is valid JSON but not an
// exact integer with {"\u0000pvekit:number": "<literal>"}. A value is swapped
// for a value, so valid text stays valid and invalid text stays invalid.
std::string mark_inexact_numbers(const std::string& text) {
  std::string out;
  size_t copied = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    if (c != '-' && !is_digit(c)) continue;
    size_t end = i;
    while (end < text.size() && is_number_char(text[end])) ++end;
    std::string_view token(text.data() + i, end - i);
    if (is_json_number(token) && !is_exact_integer(token)) {
      out.append(text, copied, i - copied);
      out += R"({"\u0000pvekit:number":")";
      out += token;
      out += "\"}";
      copied = end;
    }
    i = end - 1;
  }
  if (copied == 0) return text;
  out.append(text, copied, std::string::npos);
  return out;
}

// A marker written by hand in the document counts only if it holds a number
// literal: its text goes into error messages.
bool is_number_marker(const Json& v) {
  return v.is_object() && v.size() == 1 && v.begin().key() == kNumberMarker && v.begin()->is_string() &&
         is_json_number(v.begin()->get_ref<const std::string&>());
}

// At most 64 bytes of a long text, for error messages.
std::string shown(const std::string& text) {
  return text.size() <= 64 ? text : text.substr(0, 61) + "...";
}

// The number as the document wrote it, as far as it is known.
std::string number_text(const Json& v) {
  if (is_number_marker(v)) return shown(v.begin()->get_ref<const std::string&>());
  if (v.is_number_float() && !std::isfinite(v.get<double>()))
    return std::isnan(v.get<double>()) ? "nan" : v.get<double>() > 0 ? "inf" : "-inf";
  return shown(v.dump());
}

std::string type_name(const Json& v) { return is_number_marker(v) ? "number" : core::json_type_name(v); }
bool is_object(const Json& v) { return v.is_object() && !is_number_marker(v); }

// ---- Typed readers ----------------------------------------------------------
//
// Every value parse_spec takes from the document goes through one of these:
// each refuses what its C type cannot hold (a wrong JSON type, a fraction, a
// number out of range, a NUL byte in a string) with the field's JSON path.

template <typename T>
std::string range_text(T lo, T hi) {
  return std::to_string(+lo) + ".." + std::to_string(+hi);
}

template <typename T>
T read_integer(const Json& v, const std::string& field, T lo = std::numeric_limits<T>::min(),
               T hi = std::numeric_limits<T>::max()) {
  static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
  auto in_range = [&](auto x) { return !std::cmp_less(x, lo) && !std::cmp_greater(x, hi); };
  if (v.is_number_unsigned()) {
    auto u = v.get<uint64_t>();
    if (in_range(u)) return static_cast<T>(u);
  } else if (v.is_number_integer()) {
    auto s = v.get<int64_t>();
    if (in_range(s)) return static_cast<T>(s);
  } else if (!v.is_number_float() && !is_number_marker(v)) {
    fail(field, "must be an integer in " + range_text(lo, hi) + ", got " + type_name(v));
  }
  fail(field, number_text(v) + " is not an integer in " + range_text(lo, hi));
}

// Strings end up in C strings (paths, argv, environment, cgroup files): a NUL
// byte would cut what the kernel sees short of what was validated.
const std::string& without_nul(const std::string& s, const std::string& field) {
  if (s.find('\0') != std::string::npos) fail(field, "must not contain a NUL byte");
  return s;
}

std::string read_text(const Json& v, const std::string& field) {
  if (!v.is_string()) fail(field, "must be a string, got " + type_name(v));
  return without_nul(v.get_ref<const std::string&>(), field);
}

bool read_bool(const Json& v, const std::string& field) {
  if (!v.is_boolean()) fail(field, "must be a boolean, got " + type_name(v));
  return v.get<bool>();
}

const Json& read_array(const Json& v, const std::string& field) {
  if (!v.is_array()) fail(field, "must be an array, got " + type_name(v));
  return v;
}

// A view on one JSON object that knows its own path for error messages.
class Obj {
 public:
  Obj(const Json& j, std::string path) : j_(j), path_(std::move(path)) {
    if (!is_object(j_)) fail(path_.empty() ? "config" : path_, "must be an object, got " + type_name(j_));
  }
  const std::string& path() const { return path_; }
  bool has(const char* key) const { return j_.contains(key) && !j_.at(key).is_null(); }
  const Json& at(const char* key) const { return j_.at(key); }
  std::string field(const char* key) const { return join_path(path_, key); }
  Obj obj(const char* key) const { return Obj(at(key), field(key)); }

  std::string str(const char* key, std::string fallback = "") const {
    return has(key) ? read_text(at(key), field(key)) : fallback;
  }
  std::string required_str(const char* key) const {
    if (!has(key)) fail(field(key), "is required");
    return str(key);
  }
  bool boolean(const char* key, bool fallback = false) const {
    return has(key) ? read_bool(at(key), field(key)) : fallback;
  }
  std::optional<bool> optional_boolean(const char* key) const {
    if (!has(key)) return std::nullopt;
    return read_bool(at(key), field(key));
  }
  template <typename T>
  std::optional<T> num(const char* key, T lo = std::numeric_limits<T>::min(),
                       T hi = std::numeric_limits<T>::max()) const {
    if (!has(key)) return std::nullopt;
    return read_integer<T>(at(key), field(key), lo, hi);
  }
  template <typename T>
  T required_num(const char* key, T lo = std::numeric_limits<T>::min(), T hi = std::numeric_limits<T>::max()) const {
    if (!has(key)) fail(field(key), "is required");
    return read_integer<T>(at(key), field(key), lo, hi);
  }
  template <typename T>
  std::vector<T> nums(const char* key) const {
    std::vector<T> out;
    if (!has(key)) return out;
    const Json& a = read_array(at(key), field(key));
    for (size_t i = 0; i < a.size(); ++i) out.push_back(read_integer<T>(a[i], index_path(field(key), i)));
    return out;
  }
  std::vector<std::string> strings(const char* key) const {
    std::vector<std::string> out;
    if (!has(key)) return out;
    const Json& a = read_array(at(key), field(key));
    for (size_t i = 0; i < a.size(); ++i) out.push_back(read_text(a[i], index_path(field(key), i)));
    return out;
  }
  // Calls fn(Obj) for each object of the array at `key`.
  template <typename F>
  void each(const char* key, F&& fn) const {
    if (!has(key)) return;
    const Json& a = read_array(at(key), field(key));
    for (size_t i = 0; i < a.size(); ++i) fn(Obj(a[i], index_path(field(key), i)));
  }
  // Calls fn(name, value, field) for each member of the object at `key`;
  // names are strings read like values (no NUL).
  template <typename F>
  void members(const char* key, F&& fn) const {
    if (!has(key)) return;
    Obj m = obj(key);
    for (const auto& [name, value] : m.j_.items()) {
      std::string f = field_member(m.path_, name);
      fn(without_nul(name, f), value, f);
    }
  }
  std::map<std::string, std::string> string_map(const char* key) const {
    std::map<std::string, std::string> out;
    members(key, [&](const std::string& name, const Json& value, const std::string& f) { out[name] = read_text(value, f); });
    return out;
  }

 private:
  const Json& j_;
  std::string path_;
};

// Device numbers end up in a 32-bit dev_t half (makedev, the device cgroup's
// BPF context, "major:minor" in cgroup files).
constexpr int64_t kMaxDeviceNumber = std::numeric_limits<uint32_t>::max();

User parse_user(const Obj& o) {
  User u;
  u.uid = o.num<uint32_t>("uid").value_or(0);
  u.gid = o.num<uint32_t>("gid").value_or(0);
  u.umask = o.num<uint32_t>("umask");
  u.additional_gids = o.nums<uint32_t>("additionalGids");
  return u;
}

Process parse_process(const Obj& o) {
  Process p;
  p.terminal = o.boolean("terminal");
  if (o.has("user")) p.user = parse_user(o.obj("user"));
  p.args = o.strings("args");
  p.env = o.strings("env");
  p.cwd = o.required_str("cwd");
  if (o.has("capabilities")) {
    Obj c = o.obj("capabilities");
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

  // Read for type and range only: lxcri does not apply these (yet), but a
  // hostile value is refused like any other.
  if (o.has("consoleSize")) {
    Obj c = o.obj("consoleSize");
    (void)c.num<uint16_t>("height");  // struct winsize: unsigned short
    (void)c.num<uint16_t>("width");
  }
  if (o.has("scheduler")) {
    Obj s = o.obj("scheduler");
    (void)s.required_str("policy");
    (void)s.num<int32_t>("nice");
    (void)s.num<int32_t>("priority");
    (void)s.strings("flags");
    (void)s.num<uint64_t>("runtime");
    (void)s.num<uint64_t>("deadline");
    (void)s.num<uint64_t>("period");
  }
  if (o.has("ioPriority")) {
    Obj io = o.obj("ioPriority");
    (void)io.required_str("class");
    (void)io.num<int32_t>("priority");
  }
  if (o.has("execCPUAffinity")) {
    Obj a = o.obj("execCPUAffinity");
    (void)a.str("initial");
    (void)a.str("final");
  }
  p.apparmor_profile = o.str("apparmorProfile");
  p.selinux_label = o.str("selinuxLabel");
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
    out.push_back({m.required_num<uint32_t>("containerID"), m.required_num<uint32_t>("hostID"),
                   m.required_num<uint32_t>("size")});
  });
  return out;
}

Mount parse_mount(const Obj& m) {
  Mount mount{m.required_str("destination"), m.str("type"), m.str("source"), m.strings("options")};
  // Idmapped mounts (runtime-spec 1.1): read for type and range only.
  (void)parse_mappings(m, "uidMappings");
  (void)parse_mappings(m, "gidMappings");
  return mount;
}

std::pair<int64_t, int64_t> device_numbers(const Obj& d) {
  return {d.required_num<int64_t>("major", 0, kMaxDeviceNumber), d.required_num<int64_t>("minor", 0, kMaxDeviceNumber)};
}

BlockIoResources parse_block_io(const Obj& o) {
  BlockIoResources b{o.num<uint16_t>("weight"), o.num<uint16_t>("leafWeight"), {}, {}, {}, {}, {}};
  o.each("weightDevice", [&](const Obj& d) {
    auto [major, minor] = device_numbers(d);
    b.weight_devices.push_back({major, minor, d.num<uint16_t>("weight"), d.num<uint16_t>("leafWeight")});
  });
  auto throttle = [&](const char* key, std::vector<BlockIoThrottleDevice>& out) {
    o.each(key, [&](const Obj& d) {
      auto [major, minor] = device_numbers(d);
      out.push_back({major, minor, d.required_num<uint64_t>("rate")});
    });
  };
  throttle("throttleReadBpsDevice", b.throttle_read_bps);
  throttle("throttleWriteBpsDevice", b.throttle_write_bps);
  throttle("throttleReadIOPSDevice", b.throttle_read_iops);
  throttle("throttleWriteIOPSDevice", b.throttle_write_iops);
  return b;
}

// A device cgroup rule's major or minor: absent or -1 (runc's and Docker's
// wildcard, "*") is any device.
std::optional<int64_t> rule_device_number(const Obj& d, const char* key) {
  auto v = d.num<int64_t>(key, -1, kMaxDeviceNumber);
  if (v && *v == -1) return std::nullopt;
  return v;
}

Resources parse_resources(const Obj& o) {
  Resources r;
  o.each("devices", [&](const Obj& d) {
    if (!d.has("allow")) fail(d.field("allow"), "is required");
    r.devices.push_back({d.boolean("allow"), d.str("type", "a"), rule_device_number(d, "major"),
                         rule_device_number(d, "minor"), d.str("access", "rwm")});
  });
  if (o.has("memory")) {
    Obj m = o.obj("memory");
    r.memory = MemoryResources{m.num<int64_t>("limit"), m.num<int64_t>("reservation"), m.num<int64_t>("swap"),
                               m.num<uint64_t>("swappiness"), m.optional_boolean("disableOOMKiller")};
    // Read for type and range only (cgroup v1 kernel memory is deprecated; not applied).
    (void)m.num<int64_t>("kernel");
    (void)m.num<int64_t>("kernelTCP");
    (void)m.optional_boolean("useHierarchy");
    (void)m.optional_boolean("checkBeforeUpdate");
  }
  if (o.has("cpu")) {
    Obj c = o.obj("cpu");
    r.cpu = CpuResources{c.num<uint64_t>("shares"), c.num<int64_t>("quota"),
                         c.num<uint64_t>("period"), c.str("cpus"), c.str("mems"), c.num<int64_t>("idle")};
    // Read for type and range only: not applied.
    (void)c.num<uint64_t>("burst");
    (void)c.num<int64_t>("realtimeRuntime");
    (void)c.num<uint64_t>("realtimePeriod");
  }
  if (o.has("pids")) r.pids_limit = o.obj("pids").required_num<int64_t>("limit");
  if (o.has("blockIO")) r.block_io = parse_block_io(o.obj("blockIO"));
  o.each("hugepageLimits", [&](const Obj& h) {
    if (!h.has("limit")) fail(h.field("limit"), "is required");
    r.hugepage_limits.push_back({h.required_str("pageSize"), h.required_num<uint64_t>("limit")});
  });
  if (o.has("network")) {
    Obj n = o.obj("network");
    NetworkResources net{n.num<uint32_t>("classID"), {}};
    n.each("priorities", [&](const Obj& p) {
      if (!p.has("priority")) fail(p.field("priority"), "is required");
      net.priorities.emplace_back(p.required_str("name"), p.required_num<uint32_t>("priority"));
    });
    r.network = net;
  }
  o.members("rdma", [&](const std::string& device, const Json& limits, const std::string& field) {
    Obj l(limits, field);
    r.rdma[device] = {l.num<uint32_t>("hcaHandles"), l.num<uint32_t>("hcaObjects")};
  });
  r.unified = o.string_map("unified");
  return r;
}

Seccomp parse_seccomp(const Obj& o) {
  // errnoRet: the filter's return data holds 16 bits (SECCOMP_RET_DATA).
  Seccomp s;
  s.default_action = o.required_str("defaultAction");
  s.default_errno_ret = o.num<uint16_t>("defaultErrnoRet");
  s.architectures = o.strings("architectures");
  s.flags = o.strings("flags");
  s.listener_path = o.str("listenerPath");
  s.listener_metadata = o.str("listenerMetadata");
  o.each("syscalls", [&](const Obj& e) {
    SeccompSyscall sc{e.strings("names"), e.required_str("action"), e.num<uint16_t>("errnoRet"), {}};
    if (sc.names.empty()) fail(e.field("names"), "must name at least one syscall");
    e.each("args", [&](const Obj& a) {
      if (!a.has("index") || !a.has("value") || !a.has("op"))
        fail(a.path(), "index, value and op are required");
      sc.args.push_back({a.required_num<uint32_t>("index"), a.required_num<uint64_t>("value"),
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
                         d.num<int64_t>("major", 0, kMaxDeviceNumber).value_or(0),
                         d.num<int64_t>("minor", 0, kMaxDeviceNumber).value_or(0), d.num<uint32_t>("fileMode"),
                         d.num<uint32_t>("uid"), d.num<uint32_t>("gid")});
  });
  l.cgroups_path = o.str("cgroupsPath");
  if (o.has("resources")) l.resources = parse_resources(o.obj("resources"));
  l.rootfs_propagation = o.str("rootfsPropagation");
  l.masked_paths = o.strings("maskedPaths");
  l.readonly_paths = o.strings("readonlyPaths");
  l.sysctl = o.string_map("sysctl");
  if (o.has("seccomp")) l.seccomp = parse_seccomp(o.obj("seccomp"));

  // Read for type and range only: lxcri does not apply these (yet).
  o.members("timeOffsets", [](const std::string&, const Json& offset, const std::string& field) {
    Obj t(offset, field);
    (void)t.num<int64_t>("secs");
    (void)t.num<uint32_t>("nanosecs");
  });
  if (o.has("personality")) {
    Obj p = o.obj("personality");
    (void)p.required_str("domain");
    (void)p.strings("flags");
  }
  if (o.has("intelRdt")) {
    Obj rdt = o.obj("intelRdt");
    (void)rdt.str("closID");
    (void)rdt.str("l3CacheSchema");
    (void)rdt.str("memBwSchema");
    (void)rdt.optional_boolean("enableCMT");
    (void)rdt.optional_boolean("enableMBM");
  }
  l.mount_label = o.str("mountLabel");
  return l;
}

Spec parse_document(const Json& doc) {
  Obj o(doc, "");
  Spec s;
  s.oci_version = o.required_str("ociVersion");
  if (o.has("process")) s.process = parse_process(o.obj("process"));
  if (!o.has("root")) fail("root", "is required");
  Obj root = o.obj("root");
  s.root = Root{root.required_str("path"), root.boolean("readonly")};
  o.each("mounts", [&](const Obj& m) { s.mounts.push_back(parse_mount(m)); });
  s.hostname = o.str("hostname");
  s.domainname = o.str("domainname");
  if (o.has("hooks")) s.hooks = parse_hooks(o.obj("hooks"));
  s.annotations = o.string_map("annotations");
  if (o.has("linux")) s.linux = parse_linux(o.obj("linux"));
  return s;
}

// config.json text to JSON, number literals marked (mark_inexact_numbers).
core::Result<Json> parse_config_text(const std::string& text) {
  auto invalid = [](const Json::exception& e) {
    return Error(ErrorCategory::Parse, std::string("invalid JSON: ") + e.what());
  };
  std::string marked = mark_inexact_numbers(text);
  try {
    return Json::parse(marked);
  } catch (const Json::exception& e) {
    if (marked.size() == text.size()) return invalid(e);  // no marker (each one lengthens the text)
  }
  try {
    [[maybe_unused]] Json doc = Json::parse(text);  // the error where the text as written has it
  } catch (const Json::exception& e) {
    return invalid(e);
  }
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  std::abort();  // marking made valid text invalid: a bug in mark_inexact_numbers
#endif
  return Error(ErrorCategory::Parse, "invalid JSON");
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

std::string field_member(const std::string& base, const std::string& key) {
  bool plain = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '[' && c != ']';
  });
  return plain ? join_path(base, key) : base + "[" + quote_value(key) + "]";
}

std::string quote_value(const std::string& text) {
  // ASCII only: no control character (C0, or C1 such as U+009B CSI) reaches a terminal.
  return Json(text).dump(-1, ' ', true, Json::error_handler_t::replace);
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
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  // The readers never let nlohmann throw; should one slip through, it is a bug
  // to report, not a reason to abort. (The fuzzer build lets it crash instead.)
  catch (const Json::exception& e) {
    return Error(ErrorCategory::Internal, std::string("reading config: ") + e.what());
  }
#endif
  PVEKIT_TRY(validate_spec(spec));
  return spec;
}

core::Result<Spec> parse_spec_text(const std::string& text) {
  PVEKIT_ASSIGN(auto doc, parse_config_text(text).wrap("config.json"));
  return parse_spec(doc).wrap("config.json");
}

core::Result<Spec> load_spec(const std::string& bundle) {
  std::string path = bundle + "/config.json";
  PVEKIT_ASSIGN(auto text, core::read_file(path));
  return parse_spec_text(text);
}

}  // namespace pvekit::oci
