#pragma once

#include <string>

#include "core/result.h"

namespace pvekit::core {

Result<std::string> read_file(const std::string& path);

// Replaces `path` atomically: writes a temporary file beside it, fsyncs it,
// renames it over `path` and fsyncs the directory, so readers see either the
// old or the new content, never a torn file. `mode` applies to the new file.
Status write_file_atomic(const std::string& path, const std::string& content, int mode = 0644);

}  // namespace pvekit::core
