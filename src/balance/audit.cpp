#include "balance/audit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace pvekit::balance {
namespace {

core::Error system_error(const std::string& what, const std::string& path, int err) {
  return core::Error(core::ErrorCategory::System, what + " audit log " + path + ": " + std::strerror(err));
}

}  // namespace

std::string rfc3339_utc(double unix_time) {
  double whole = std::floor(unix_time);
  auto millis = static_cast<int>(std::lround((unix_time - whole) * 1000));
  if (millis == 1000) whole += 1, millis = 0;
  time_t t = static_cast<time_t>(whole);
  struct tm utc{};
  gmtime_r(&t, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday,
                     utc.tm_hour, utc.tm_min, utc.tm_sec, millis);
}

std::string new_plan_id(double unix_time) {
  std::string stamp = rfc3339_utc(unix_time);
  std::erase(stamp, '-');
  std::erase(stamp, ':');
  std::random_device random;
  return fmt::format("{}-{:08x}", stamp, static_cast<uint32_t>(random()));
}

core::Json audit_record(const MoveResult& r, const AuditContext& context, double started_unix,
                        double finished_unix) {
  const Move& m = r.move;
  const bool done = r.outcome == MoveOutcome::Done;
  constexpr double kGiB = 1024.0 * 1024 * 1024;
  core::Json j = {{"started", rfc3339_utc(started_unix)},
                  {"finished", rfc3339_utc(finished_unix)},
                  {"cluster", context.cluster},
                  {"plan_id", context.plan_id},
                  {"by", context.by},
                  {"vmid", m.vmid},
                  {"name", m.name},
                  {"type", std::string(to_string(m.type))},
                  {"from", m.from},
                  {"to", m.to},
                  {"reason", std::string(to_string(m.reason))},
                  {"online", m.online},
                  {"result", std::string(to_string(r.outcome))},
                  {"upid", r.upid},
                  {"gib_moved", done ? static_cast<double>(m.memory_bytes + m.local_disk_bytes) / kGiB : 0.0},
                  {"duration_seconds", r.seconds}};
  j["error"] = done ? core::Json(nullptr) : core::Json(r.message);
  return j;
}

core::Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::string& path) {
  std::unique_ptr<AuditLog> log(new AuditLog(path));
  std::lock_guard lock(log->mutex_);
  PVEKIT_TRY(log->open_locked());
  return log;
}

core::Status AuditLog::open_locked() {
  auto parent = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return system_error("create the directory of", path_, ec.value());
    ::chmod(parent.c_str(), 0750);
  }
  // O_NOFOLLOW: a symlink planted at the path must not redirect root's writes.
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) return system_error("open", path_, errno);
  fd_.reset(fd);
  return core::ok();
}

bool AuditLog::replaced_locked() const {
  struct stat on_disk{}, open_file{};
  if (::stat(path_.c_str(), &on_disk) != 0) return true;  // renamed away by logrotate
  if (::fstat(fd_.get(), &open_file) != 0) return true;
  return on_disk.st_ino != open_file.st_ino || on_disk.st_dev != open_file.st_dev;
}

core::Status AuditLog::reopen() {
  std::lock_guard lock(mutex_);
  return open_locked();
}

core::Status AuditLog::append(const core::Json& record) {
  std::string line = record.dump(-1, ' ', false, core::Json::error_handler_t::replace) + "\n";
  std::lock_guard lock(mutex_);
  auto failed = [&](const std::string& what, int err) {
    ++write_errors_;
    return system_error(what, path_, err);
  };
  if (!fd_.valid() || replaced_locked()) {
    if (auto opened = open_locked(); !opened) {
      ++write_errors_;
      return opened;
    }
  }
  ssize_t written = ::write(fd_.get(), line.data(), line.size());
  if (written < 0) return failed("write to", errno);
  if (static_cast<size_t>(written) != line.size()) return failed("write to", ENOSPC);
  if (::fsync(fd_.get()) != 0) return failed("fsync", errno);
  return core::ok();
}

core::Result<std::vector<std::string>> AuditLog::tail(size_t lines) const {
  constexpr off_t kWindow = 1 << 20;
  core::UniqueFd fd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return system_error("open", path_, errno);
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return system_error("stat", path_, errno);
  off_t from = std::max<off_t>(0, st.st_size - kWindow);
  std::string data(static_cast<size_t>(st.st_size - from), '\0');
  ssize_t got = ::pread(fd.get(), data.data(), data.size(), from);
  if (got < 0) return system_error("read", path_, errno);
  data.resize(static_cast<size_t>(got));
  // A window that starts mid-file starts mid-line: drop that part line.
  if (from > 0) data.erase(0, std::min(data.size(), data.find('\n') + 1));
  std::vector<std::string> all;
  size_t start = 0;
  for (size_t nl; (nl = data.find('\n', start)) != std::string::npos; start = nl + 1) {
    all.push_back(data.substr(start, nl - start));
  }
  if (all.size() > lines) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(lines));
  return all;
}

AuditingProgress::AuditingProgress(ProgressSink& inner, AuditLog* log, AuditContext context, const core::Clock& clock,
                                   std::function<void(const core::Json&)> on_record)
    : inner_(inner), log_(log), context_(std::move(context)), clock_(clock), on_record_(std::move(on_record)) {}

void AuditingProgress::wave_started(size_t wave, size_t waves, size_t moves) { inner_.wave_started(wave, waves, moves); }

void AuditingProgress::move_started(const Move& move, const std::string& upid) {
  {
    std::lock_guard lock(mutex_);
    started_[move.vmid] = clock_.now_unix();
  }
  inner_.move_started(move, upid);
}

void AuditingProgress::move_finished(const MoveResult& result) {
  inner_.move_finished(result);
  if ((!log_ && !on_record_) || result.outcome == MoveOutcome::Skipped) return;
  double finished = clock_.now_unix();
  double started = finished - result.seconds;  // a request refused at once was never started
  {
    std::lock_guard lock(mutex_);
    if (auto it = started_.find(result.move.vmid); it != started_.end()) {
      started = it->second;
      started_.erase(it);
    }
  }
  core::Json record = audit_record(result, context_, started, finished);
  if (on_record_) on_record_(record);
  if (!log_) return;
  if (auto written = log_->append(record); !written) {
    spdlog::error("audit: migration of {} not recorded: {}", result.move.vmid, written.error().to_string());
  }
}

}  // namespace pvekit::balance
