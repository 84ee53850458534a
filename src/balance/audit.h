// The audit log: one JSON line per migration (service.audit_log), written
// from the executor's progress events as each migration ends, so the file
// says what proxlb did even when its own log is rotated away or is text.
// Shared by the daemon and the one-shot `proxlb balance`.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "balance/executor.h"
#include "core/clock.h"
#include "core/fd.h"
#include "core/json.h"
#include "core/result.h"

namespace pvekit::balance {

// What every line of one plan shares.
struct AuditContext {
  std::string plan_id;  // new_plan_id()
  std::string cluster;  // the PVE cluster's name
  std::string by;       // "daemon" or "balance": which proxlb command acted
};

// "20261207T064852.123Z-1a2b3c4d": the plan's start (UTC, sortable) and 32
// random bits, so plans of daemons on several nodes do not collide.
std::string new_plan_id(double unix_time);

// Seconds since the epoch as RFC 3339 UTC with milliseconds.
std::string rfc3339_utc(double unix_time);

// One audit record (pure): started/finished times, the guest, from, to, why,
// the plan, the result, the error when there is one, GiB moved (0 unless the
// migration succeeded) and the duration.
core::Json audit_record(const MoveResult& result, const AuditContext& context, double started_unix,
                        double finished_unix);

// An append-only JSON-lines file. Every line is written whole with one
// write(2) on an O_APPEND descriptor and fsynced before append() returns, so
// concurrent writers (rounds, processes) never interleave within a line.
// Survives log rotation: before each line the path is checked and the file
// reopened when it was renamed away or replaced (another inode), and reopen()
// does the same at once (SIGHUP).
class AuditLog {
 public:
  // Creates the file (0640) and its directory (0750) when missing. System
  // error naming the path when it cannot be opened.
  static core::Result<std::unique_ptr<AuditLog>> open(const std::string& path);

  // Writes `record` as one line. Errors (disk full, removed directory) are
  // counted in write_errors() and returned; the caller logs them and goes on.
  core::Status append(const core::Json& record);
  core::Status reopen();
  // The last `lines` lines of the file, oldest first, from its last 1 MiB.
  core::Result<std::vector<std::string>> tail(size_t lines) const;
  const std::string& path() const { return path_; }
  uint64_t write_errors() const { return write_errors_; }

 private:
  explicit AuditLog(std::string path) : path_(std::move(path)) {}
  core::Status open_locked();
  bool replaced_locked() const;

  std::string path_;
  mutable std::mutex mutex_;
  core::UniqueFd fd_;
  std::atomic<uint64_t> write_errors_{0};
};

// Forwards progress to `inner` and writes an audit line when a migration
// ends (skipped moves of a dry run are not migrations and write none), and
// hands each record to `on_record` when set (the daemon's webhooks).
class AuditingProgress final : public ProgressSink {
 public:
  AuditingProgress(ProgressSink& inner, AuditLog* log, AuditContext context, const core::Clock& clock,
                   std::function<void(const core::Json&)> on_record = nullptr);
  void wave_started(size_t wave, size_t waves, size_t moves) override;
  void move_started(const Move& move, const std::string& upid) override;
  void move_finished(const MoveResult& result) override;

 private:
  ProgressSink& inner_;
  AuditLog* log_;  // null: auditing off
  AuditContext context_;
  const core::Clock& clock_;
  std::mutex mutex_;
  std::function<void(const core::Json&)> on_record_;
  std::map<uint32_t, double> started_;  // vmid -> unix time its migration was asked for
};

}  // namespace pvekit::balance
