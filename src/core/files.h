#pragma once

#include <string>

#include "core/result.h"

namespace pvekit::core {

Result<std::string> read_file(const std::string& path);

// How long a write_file_atomic update must last.
enum class Durability {
  // The file and its directory are fsynced: the update survives a power loss.
  Durable,
  // Renamed into place only: readers and a crash of the writer still see whole
  // files, but a power loss may lose the update. For state a reboot makes
  // meaningless anyway (a container's state, pid files), written on every
  // runtime call; runc and crun do not sync theirs either.
  RuntimeState,
};

// Replaces `path` atomically: writes a temporary file beside it and renames it
// over `path`, so readers see either the old or the new content, never a torn
// file. `mode` applies to the new file.
Status write_file_atomic(const std::string& path, const std::string& content, int mode = 0644,
                         Durability durability = Durability::Durable);

}  // namespace pvekit::core
