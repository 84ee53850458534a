#pragma once

// The runtime's commands, one per file in src/oci/commands/. Each writes its
// output to ctx.out and returns an Error for main to print; none exits.

#include <ostream>

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

core::Status cmd_create(Context& ctx, const CreateOptions& options);
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

// Shared by the commands (src/oci/commands/common.cpp).
struct LoadedContainer {
  ContainerLock lock;
  ContainerState state;
  ContainerStatus status;  // live status
  std::unique_ptr<Backend> backend;
};
// Locks and loads a container and works out its live status.
core::Result<LoadedContainer> load_container(Context& ctx, const std::string& id);
// The runc-style state JSON with the live status, for hooks and `state`.
std::string hook_state_json(const LoadedContainer& c);
// Stops what is left of the container, runs poststop hooks and removes its state.
core::Status destroy_container(Context& ctx, LoadedContainer& c);
// The spec saved in the state dir at create time.
core::Result<Spec> stored_spec(const Context& ctx, const std::string& id);

}  // namespace pvekit::oci
