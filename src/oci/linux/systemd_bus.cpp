// The helper lxcri-systemd's client: SystemdBus over sd-bus (systemd's own
// client library), talking to org.freedesktop.systemd1 as systemd-run and runc do.

#include <systemd/sd-bus.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <type_traits>

#include "oci/linux/systemd_cgroup.h"

namespace pvekit::oci::linux {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Status;

constexpr const char* kService = "org.freedesktop.systemd1";
constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kManager = "org.freedesktop.systemd1.Manager";
// runc waits as long for systemd to run a unit's job.
constexpr auto kJobTimeout = std::chrono::seconds(30);

struct BusErrorGuard {
  sd_bus_error error = SD_BUS_ERROR_NULL;
  ~BusErrorGuard() { sd_bus_error_free(&error); }
};

struct MessageDeleter {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using Message = std::unique_ptr<sd_bus_message, MessageDeleter>;

Error bus_error(const std::string& what, int r, const sd_bus_error* e = nullptr) {
  if (e != nullptr && sd_bus_error_is_set(e))
    return Error(ErrorCategory::Runtime, "systemd: " + what + ": " + e->message + " (" + e->name + ")");
  return Error::system("systemd: " + what, -r);
}

int append_property(sd_bus_message* m, const UnitProperty& p) {
  int r = sd_bus_message_open_container(m, 'r', "sv");
  if (r < 0) return r;
  if ((r = sd_bus_message_append_basic(m, 's', p.name.c_str())) < 0) return r;
  r = std::visit(
      [&](const auto& v) -> int {
        using T = std::decay_t<decltype(v)>;
        int rr = 0;
        if constexpr (std::is_same_v<T, bool>) {
          if ((rr = sd_bus_message_open_container(m, 'v', "b")) < 0) return rr;
          int b = v ? 1 : 0;
          if ((rr = sd_bus_message_append_basic(m, 'b', &b)) < 0) return rr;
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          if ((rr = sd_bus_message_open_container(m, 'v', "t")) < 0) return rr;
          if ((rr = sd_bus_message_append_basic(m, 't', &v)) < 0) return rr;
        } else if constexpr (std::is_same_v<T, std::string>) {
          if ((rr = sd_bus_message_open_container(m, 'v', "s")) < 0) return rr;
          if ((rr = sd_bus_message_append_basic(m, 's', v.c_str())) < 0) return rr;
        } else if constexpr (std::is_same_v<T, std::vector<uint8_t>>) {
          if ((rr = sd_bus_message_open_container(m, 'v', "ay")) < 0) return rr;
          if ((rr = sd_bus_message_append_array(m, 'y', v.data(), v.size())) < 0) return rr;
        } else if constexpr (std::is_same_v<T, std::vector<uint32_t>>) {
          if ((rr = sd_bus_message_open_container(m, 'v', "au")) < 0) return rr;
          if ((rr = sd_bus_message_append_array(m, 'u', v.data(), v.size() * sizeof(uint32_t))) < 0) return rr;
        } else {
          if ((rr = sd_bus_message_open_container(m, 'v', "a(ss)")) < 0) return rr;
          if ((rr = sd_bus_message_open_container(m, 'a', "(ss)")) < 0) return rr;
          for (const auto& [path, access] : v)
            if ((rr = sd_bus_message_append(m, "(ss)", path.c_str(), access.c_str())) < 0) return rr;
          if ((rr = sd_bus_message_close_container(m)) < 0) return rr;
        }
        return sd_bus_message_close_container(m);
      },
      p.value);
  if (r < 0) return r;
  return sd_bus_message_close_container(m);
}

int append_properties(sd_bus_message* m, const std::vector<UnitProperty>& props) {
  int r = sd_bus_message_open_container(m, 'a', "(sv)");
  if (r < 0) return r;
  for (const auto& p : props)
    if ((r = append_property(m, p)) < 0) return r;
  return sd_bus_message_close_container(m);
}

class SdBus final : public SystemdBus {
 public:
  SdBus(sd_bus* bus, bool direct) : bus_(bus), direct_(direct) {}
  ~SdBus() override { sd_bus_flush_close_unref(bus_); }
  SdBus(const SdBus&) = delete;
  SdBus& operator=(const SdBus&) = delete;

  // JobRemoved is sent to every direct connection, and on the system bus to
  // subscribers: both are set up before any job is started.
  Status listen_for_jobs() {
    int r = sd_bus_match_signal(bus_, &match_, direct_ ? nullptr : kService, kPath, kManager, "JobRemoved",
                                &SdBus::on_job_removed, this);
    if (r < 0) return bus_error("watch for finished jobs", r);
    BusErrorGuard e;
    r = sd_bus_call_method(bus_, kService, kPath, kManager, "Subscribe", &e.error, nullptr, "");
    if (r < 0) return bus_error("Subscribe", r, &e.error);
    return core::ok();
  }

  Status start_transient_unit(const std::string& unit, const std::vector<UnitProperty>& properties) override {
    for (int attempt = 0;; ++attempt) {
      auto job = start_once(unit, properties);
      if (job.ok()) return wait_for_job(*job, unit, "start");
      // A unit of that name left failed from before: systemd drops it once reset.
      if (attempt == 0 && job.error().message().find("org.freedesktop.systemd1.UnitExists") != std::string::npos) {
        reset_failed(unit);
        continue;
      }
      return job.error();
    }
  }

  Status set_unit_properties(const std::string& unit, const std::vector<UnitProperty>& properties) override {
    Message m;
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &raw, kService, kPath, kManager, "SetUnitProperties");
    m.reset(raw);
    int runtime = 1;
    if (r >= 0) r = sd_bus_message_append(raw, "sb", unit.c_str(), runtime);
    if (r >= 0) r = append_properties(raw, properties);
    if (r < 0) return bus_error("build SetUnitProperties for " + unit, r);
    BusErrorGuard e;
    r = sd_bus_call(bus_, raw, 0, &e.error, nullptr);
    if (r < 0) return bus_error("SetUnitProperties " + unit, r, &e.error);
    return core::ok();
  }

  Status stop_unit(const std::string& unit) override {
    BusErrorGuard e;
    sd_bus_message* raw = nullptr;
    int r = sd_bus_call_method(bus_, kService, kPath, kManager, "StopUnit", &e.error, &raw, "ss", unit.c_str(),
                               "replace");
    Message reply(raw);
    if (r < 0) {
      if (sd_bus_error_has_name(&e.error, "org.freedesktop.systemd1.NoSuchUnit")) return core::ok();
      return bus_error("StopUnit " + unit, r, &e.error);
    }
    const char* job = nullptr;
    if ((r = sd_bus_message_read(raw, "o", &job)) < 0) return bus_error("read the job of StopUnit " + unit, r);
    Status stopped = wait_for_job(job, unit, "stop");
    reset_failed(unit);
    return stopped;
  }

 private:
  core::Result<std::string> start_once(const std::string& unit, const std::vector<UnitProperty>& properties) {
    sd_bus_message* raw = nullptr;
    int r = sd_bus_message_new_method_call(bus_, &raw, kService, kPath, kManager, "StartTransientUnit");
    Message m(raw);
    if (r >= 0) r = sd_bus_message_append(raw, "ss", unit.c_str(), "fail");
    if (r >= 0) r = append_properties(raw, properties);
    if (r >= 0) r = sd_bus_message_append(raw, "a(sa(sv))", 0);
    if (r < 0) return bus_error("build StartTransientUnit for " + unit, r);
    BusErrorGuard e;
    sd_bus_message* reply_raw = nullptr;
    r = sd_bus_call(bus_, raw, 0, &e.error, &reply_raw);
    Message reply(reply_raw);
    if (r < 0) return bus_error("StartTransientUnit " + unit, r, &e.error);
    const char* job = nullptr;
    if ((r = sd_bus_message_read(reply_raw, "o", &job)) < 0) return bus_error("read the job of " + unit, r);
    return std::string(job);
  }

  void reset_failed(const std::string& unit) {
    BusErrorGuard e;
    // Nothing to reset is the usual answer: the unit went away cleanly.
    (void)sd_bus_call_method(bus_, kService, kPath, kManager, "ResetFailedUnit", &e.error, nullptr, "s",
                             unit.c_str());
  }

  Status wait_for_job(const std::string& job, const std::string& unit, const std::string& what) {
    auto deadline = std::chrono::steady_clock::now() + kJobTimeout;
    while (true) {
      if (auto it = finished_.find(job); it != finished_.end()) {
        std::string result = it->second;
        finished_.erase(it);
        if (result == "done") return core::ok();
        return Error(ErrorCategory::Runtime, "systemd: the " + what + " job of " + unit + " ended \"" + result +
                                                 "\" (see journalctl -u " + unit + ")");
      }
      int r = sd_bus_process(bus_, nullptr);
      if (r < 0) return bus_error("wait for the " + what + " job of " + unit, r);
      if (r > 0) continue;
      auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return Error(ErrorCategory::Runtime, "systemd: the " + what + " job of " + unit + " did not finish within " +
                                                 std::to_string(kJobTimeout.count()) + " s");
      r = sd_bus_wait(bus_, static_cast<uint64_t>(left.count()));
      if (r < 0 && r != -EINTR) return bus_error("wait for the " + what + " job of " + unit, r);
    }
  }

  static int on_job_removed(sd_bus_message* m, void* self, sd_bus_error*) {
    uint32_t id = 0;
    const char *job = nullptr, *unit = nullptr, *result = nullptr;
    if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) >= 0)
      static_cast<SdBus*>(self)->finished_[job] = result;
    return 0;
  }

  sd_bus* bus_;
  bool direct_;
  sd_bus_slot* match_ = nullptr;  // freed with the bus
  std::map<std::string, std::string> finished_;  // job path -> result, as JobRemoved reports them
};

}  // namespace

core::Result<std::unique_ptr<SystemdBus>> connect_sd_bus() {
  if (!systemd_booted())
    return Error(ErrorCategory::Runtime,
                 "--systemd-cgroup: systemd is not this host's init (there is no /run/systemd/system); "
                 "use the cgroupfs driver");
  sd_bus* bus = nullptr;
  int r = 0;
  bool direct = ::geteuid() == 0 && ::access("/run/systemd/private", F_OK) == 0;
  std::string address = direct ? "/run/systemd/private" : "the system bus";
  if (direct) {
    // systemd's own socket, as systemctl uses as root: no dbus-daemon in between.
    r = sd_bus_new(&bus);
    if (r >= 0) r = sd_bus_set_address(bus, "unix:path=/run/systemd/private");
    if (r >= 0) r = sd_bus_start(bus);
  } else {
    r = sd_bus_open_system(&bus);
  }
  if (r < 0) {
    sd_bus_unref(bus);
    return Error::system("--systemd-cgroup: connect to systemd through " + address, -r);
  }
  auto client = std::make_unique<SdBus>(bus, direct);
  PVEKIT_TRY(client->listen_for_jobs());
  return std::unique_ptr<SystemdBus>(std::move(client));
}

}  // namespace pvekit::oci::linux
