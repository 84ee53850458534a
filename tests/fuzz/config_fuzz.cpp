// libFuzzer target: config.json as `lxcri create` reads it before it touches
// the system (commands/create.cpp: load_spec -> parse_spec_text), that is
// JSON text -> parse_spec (typed readers) -> validate_spec. Pure functions
// only: no files, no syscalls. How to run it: docs/fuzzing.md.
//
// Besides crashes, leaks, hangs and undefined behaviour, it checks what the
// rest of lxcri relies on: errors are Parse or Config errors, a Config error
// names its field and prints no control character, and an accepted spec holds
// no NUL byte in the strings that become C strings.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "oci/spec.h"

namespace {

using pvekit::oci::Spec;

[[noreturn]] void broken(const char* what, const std::string& detail) {
  std::fprintf(stderr, "config_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

void check_c_string(const std::string& s, const char* what) {
  if (s.find('\0') != std::string::npos) broken("NUL byte accepted", what);
}

void check_c_strings(const std::vector<std::string>& list, const char* what) {
  for (const auto& s : list) check_c_string(s, what);
}

void check_accepted(const Spec& spec) {
  if (spec.root.path.empty()) broken("accepted an empty root.path", "");
  check_c_string(spec.root.path, "root.path");
  check_c_string(spec.hostname, "hostname");
  if (spec.process) {
    if (spec.process->args.empty()) broken("accepted empty process.args", "");
    check_c_strings(spec.process->args, "process.args");
    check_c_strings(spec.process->env, "process.env");
    check_c_string(spec.process->cwd, "process.cwd");
  }
  for (const auto& m : spec.mounts) {
    if (m.destination.empty() || m.destination[0] != '/' || pvekit::oci::has_dotdot(m.destination))
      broken("accepted a mount destination", m.destination);
    check_c_string(m.destination, "mounts.destination");
    check_c_string(m.source, "mounts.source");
    check_c_strings(m.options, "mounts.options");
  }
  for (const auto& [k, v] : spec.annotations) {
    check_c_string(k, "annotations key");
    check_c_string(v, "annotations value");
  }
  if (spec.linux) {
    check_c_string(spec.linux->cgroups_path, "linux.cgroupsPath");
    check_c_strings(spec.linux->masked_paths, "linux.maskedPaths");
    for (const auto& [k, v] : spec.linux->sysctl) {
      check_c_string(k, "linux.sysctl key");
      check_c_string(v, "linux.sysctl value");
    }
    for (const auto& d : spec.linux->devices)
      if (d.major < 0 || d.major > UINT32_MAX || d.minor < 0 || d.minor > UINT32_MAX)
        broken("accepted a device number out of range", d.path);
  }
}

void check_refused(const pvekit::core::Error& e) {
  using pvekit::core::ErrorCategory;
  if (e.category() == ErrorCategory::Parse) return;
  if (e.category() != ErrorCategory::Config) broken("unexpected error category", e.to_string());
  auto field = e.details().find("field");
  if (field == e.details().end()) broken("Config error without a field", e.to_string());
  if (e.message().rfind(field->second + ": ", 0) != 0)
    broken("message does not start with its field", e.to_string());
  for (unsigned char c : e.message())
    if (c < 0x20 || c >= 0x7f) broken("unprintable byte in a Config error", e.to_string());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto spec = pvekit::oci::parse_spec_text(text);
  if (spec.ok()) {
    check_accepted(*spec);
  } else {
    check_refused(spec.error());
  }
  return 0;
}
