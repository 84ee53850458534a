#include "oci/linux/capabilities.h"

#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace pvekit::oci::linux {

using core::Error;
using core::Status;

namespace {

int last_cap() {
  static int last = [] {
    int n = CAP_LAST_CAP;
    while (n < 63 && prctl(PR_CAPBSET_READ, n + 1, 0, 0, 0) >= 0) ++n;
    while (n > 0 && prctl(PR_CAPBSET_READ, n, 0, 0, 0) < 0) --n;
    return n;
  }();
  return last;
}

struct CapFree {
  void operator()(cap_t c) const { cap_free(c); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

Status set_flag(cap_t caps, cap_flag_t flag, const std::vector<int>& values) {
  std::vector<cap_value_t> v(values.begin(), values.end());
  if (v.empty()) return core::ok();
  if (cap_set_flag(caps, flag, static_cast<int>(v.size()), v.data(), CAP_SET) != 0)
    return Error::system("cap_set_flag", errno);
  return core::ok();
}

}  // namespace

core::Result<std::vector<int>> capability_numbers(const std::vector<std::string>& names) {
  std::vector<int> out;
  for (const auto& name : names) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    cap_value_t value;
    if (cap_from_name(lower.c_str(), &value) != 0)
      return Error(core::ErrorCategory::Config, "unknown capability \"" + name + "\"");
    if (value <= last_cap()) out.push_back(value);
  }
  return out;
}

Status drop_bounding(const Capabilities& caps) {
  PVEKIT_ASSIGN(auto keep, capability_numbers(caps.bounding));
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if (std::find(keep.begin(), keep.end(), cap) != keep.end()) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
      return Error::system("drop capability " + std::to_string(cap) + " from the bounding set", errno);
  }
  return core::ok();
}

Status apply_capabilities(const Capabilities& caps) {
  CapPtr state(cap_init());
  if (!state) return Error::system("cap_init", errno);
  PVEKIT_ASSIGN(auto effective, capability_numbers(caps.effective));
  PVEKIT_ASSIGN(auto permitted, capability_numbers(caps.permitted));
  PVEKIT_ASSIGN(auto inheritable, capability_numbers(caps.inheritable));
  PVEKIT_ASSIGN(auto ambient, capability_numbers(caps.ambient));
  PVEKIT_TRY(set_flag(state.get(), CAP_EFFECTIVE, effective));
  PVEKIT_TRY(set_flag(state.get(), CAP_PERMITTED, permitted));
  PVEKIT_TRY(set_flag(state.get(), CAP_INHERITABLE, inheritable));
  if (cap_set_proc(state.get()) != 0) return Error::system("set capabilities", errno);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  for (int cap : ambient) {
    // Like runc: an ambient capability missing from permitted/inheritable is skipped, not fatal.
    (void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
  }
  return core::ok();
}

}  // namespace pvekit::oci::linux
