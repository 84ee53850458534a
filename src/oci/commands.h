#pragma once

// The runtime's commands, one per file in src/oci/commands/. Each writes its
// output to ctx.out and returns an Error for main to print; none exits.

#include <chrono>
#include <optional>
#include <ostream>
#include <utility>

#include "core/result.h"
#include "oci/backend.h"
#include "oci/options.h"
#include "oci/state_store.h"

namespace pvekit::oci {

struct Context {
  GlobalOptions global;
  StateStore store;
  std::ostream& out;
};

// `console_fd`: run's own socket for a foreground terminal; otherwise (-1)
// --console-socket is connected when process.terminal asks for a pty.
core::Status cmd_create(Context& ctx, const CreateOptions& options, int console_fd = -1);
core::Status cmd_start(Context& ctx, const StartOptions& options);
// The container's exit status (128+signal when killed) in the foreground, 0 with --detach.
core::Result<int> cmd_run(Context& ctx, const RunOptions& options);
core::Status cmd_state(Context& ctx, const StateOptions& options);
core::Status cmd_kill(Context& ctx, const KillOptions& options);
core::Status cmd_delete(Context& ctx, const DeleteOptions& options);
core::Status cmd_list(Context& ctx, const ListOptions& options);
core::Status cmd_spec(Context& ctx, const SpecOptions& options);
core::Status cmd_features(Context& ctx);
core::Status cmd_pause(Context& ctx, const PauseOptions& options);
core::Status cmd_resume(Context& ctx, const ResumeOptions& options);
core::Status cmd_ps(Context& ctx, const PsOptions& options);
// The exec'd process's exit status (128+signal when killed) in the foreground, 0 with --detach.
core::Result<int> cmd_exec(Context& ctx, const ExecOptions& options);
core::Status cmd_update(Context& ctx, const UpdateOptions& options);
core::Status cmd_events(Context& ctx, const EventsOptions& options);
core::Status cmd_checkpoint(Context& ctx, const CheckpointOptions& options);
// A storage restore runs the container like `run` and returns the same; a CRIU restore returns 0.
core::Result<int> cmd_restore(Context& ctx, const RestoreOptions& options);

// Pure parts of exec, update and events (unit-tested).
// The process JSON exec runs: `process_file` when given, else the container's
// `base` process with the flags applied as runc does (args, tty, env
// appended, cwd, user, additional gids, added capabilities, no-new-privs).
core::Result<Json> exec_process_json(const Json& base, const ExecOptions& options,
                                     const std::optional<Json>& process_file);
// "1000" or "1000:1000" -> (uid, gid); gid nullopt when not given.
core::Result<std::pair<uint32_t, std::optional<uint32_t>>> parse_exec_user(const std::string& text);
// update's flags as a LinuxResources JSON object holding only what was set.
core::Result<Json> update_flags_json(const UpdateOptions& options);
// `current` with every value set in `delta` replaced (objects merged key by key).
Json merge_json(Json current, const Json& delta);
// Go-style durations as runc's --interval takes them: "5s", "250ms", "1m30s". Must be > 0.
core::Result<std::chrono::milliseconds> parse_duration(const std::string& text);

// Shared by the commands (src/oci/commands/common.cpp).
struct LoadedContainer {
  ContainerLock lock;
  ContainerState state;
  ContainerStatus status;  // live status
  std::unique_ptr<Backend> backend;
};
// Locks and loads a container and works out its live status.
core::Result<LoadedContainer> load_container(Context& ctx, const std::string& id);
// The runc-style state JSON with the live status, for hooks.
std::string hook_state_json(const LoadedContainer& c);
// What `state` and `list` print: runc's fields, then lxcri's "backend" and,
// for the proxmox backend, "proxmox": {"node", "vmid"}.
nlohmann::ordered_json state_json(const LoadedContainer& c);
nlohmann::ordered_json state_json(const ContainerState& state, ContainerStatus status);
// Writes the state of a container found in the Proxmox cluster whose state
// directory was lost (ProxmoxFunctions::find / list_managed) and locks it.
core::Result<ContainerLock> restore_state(Context& ctx, const ContainerState& found);
// Stops what is left of the container, runs poststop hooks and removes its state.
core::Status destroy_container(Context& ctx, LoadedContainer& c);
// The spec saved in the state dir at create time.
core::Result<Spec> stored_spec(const Context& ctx, const std::string& id);

}  // namespace pvekit::oci
