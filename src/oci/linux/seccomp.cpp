#include "oci/linux/seccomp.h"

#include <seccomp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "oci/linux/sync.h"

namespace pvekit::oci::linux {

using core::Error;
using core::ErrorCategory;

core::Result<uint32_t> seccomp_action(const std::string& name, std::optional<uint32_t> errno_ret) {
  uint32_t err = errno_ret.value_or(EPERM);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(err);
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(err);
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  return Error(ErrorCategory::Config, "unsupported seccomp action \"" + name + "\"");
}

namespace {

scmp_compare compare_op(const std::string& op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  return SCMP_CMP_MASKED_EQ;
}

core::Status add_arch(scmp_filter_ctx ctx, const std::string& name) {
  // "SCMP_ARCH_X86_64" -> "x86_64"
  std::string arch = name.rfind("SCMP_ARCH_", 0) == 0 ? name.substr(10) : name;
  for (auto& c : arch) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  uint32_t token = seccomp_arch_resolve_name(arch.c_str());
  if (token == 0) return Error(ErrorCategory::Config, "unknown seccomp architecture \"" + name + "\"");
  int rc = seccomp_arch_add(ctx, token);
  if (rc != 0 && rc != -EEXIST) return Error::system("seccomp_arch_add " + name, -rc);
  return core::ok();
}

// `notify` turns true when a SCMP_ACT_NOTIFY rule goes in.
core::Status add_rule(scmp_filter_ctx ctx, const SeccompSyscall& sc, uint32_t default_action, bool& notify) {
  PVEKIT_ASSIGN(uint32_t action, seccomp_action(sc.action, sc.errno_ret));
  if (action == default_action) return core::ok();  // libseccomp rejects rules equal to the default
  std::vector<scmp_arg_cmp> args;
  for (const auto& a : sc.args)
    args.push_back({a.index, compare_op(a.op), a.value, a.value_two});
  for (const auto& name : sc.names) {
    int nr = seccomp_syscall_resolve_name(name.c_str());
    if (nr == __NR_SCMP_ERROR) continue;  // unknown to libseccomp
    int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(args.size()), args.data());
    // A negative number is a pseudo-syscall: absent from the native
    // architecture, real on some other (socketcall is 32-bit x86's, mkdir is
    // not aarch64's). libseccomp puts the rule on the filter's architectures
    // that have it, and refuses it when none of them does: then it is absent
    // here, as an unknown name is.
    if (rc != 0 && nr < 0) continue;
    if (rc != 0) return Error::system("seccomp rule for " + name, -rc);
    notify = notify || action == SCMP_ACT_NOTIFY;
  }
  return core::ok();
}

core::Status set_flag(scmp_filter_ctx ctx, const std::string& flag) {
  scmp_filter_attr attr;
  if (flag == "SECCOMP_FILTER_FLAG_TSYNC") attr = SCMP_FLTATR_CTL_TSYNC;
  else if (flag == "SECCOMP_FILTER_FLAG_LOG") attr = SCMP_FLTATR_CTL_LOG;
  else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") attr = SCMP_FLTATR_CTL_SSB;
  else return Error(ErrorCategory::Config, "unsupported seccomp flag \"" + flag + "\"");
  int rc = seccomp_attr_set(ctx, attr, 1);
  if (rc != 0) return Error::system("seccomp flag " + flag, -rc);
  return core::ok();
}

}  // namespace

SeccompFilter::SeccompFilter(SeccompFilter&& o) noexcept
    : ctx_(std::exchange(o.ctx_, nullptr)), notify_(std::exchange(o.notify_, false)) {}
SeccompFilter& SeccompFilter::operator=(SeccompFilter&& o) noexcept {
  std::swap(ctx_, o.ctx_);
  std::swap(notify_, o.notify_);
  return *this;
}
SeccompFilter::~SeccompFilter() {
  if (ctx_) seccomp_release(static_cast<scmp_filter_ctx>(ctx_));
}

core::Result<SeccompFilter> SeccompFilter::build(const Seccomp& spec) {
  PVEKIT_ASSIGN(uint32_t def, seccomp_action(spec.default_action, spec.default_errno_ret));
  scmp_filter_ctx ctx = seccomp_init(def);
  if (ctx == nullptr) return Error(ErrorCategory::Runtime, "seccomp_init failed");
  SeccompFilter filter(ctx, def == SCMP_ACT_NOTIFY);
  // The runtime already set no_new_privs when asked; do not force it here.
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (const auto& flag : spec.flags) PVEKIT_TRY(set_flag(ctx, flag));
  for (const auto& arch : spec.architectures) PVEKIT_TRY(add_arch(ctx, arch));
  for (size_t i = 0; i < spec.syscalls.size(); ++i)
    PVEKIT_TRY(add_rule(ctx, spec.syscalls[i], def, filter.notify_)
                   .wrap("linux.seccomp.syscalls[" + std::to_string(i) + "]"));
  return filter;
}

core::Result<UniqueFd> SeccompFilter::load() {
  auto ctx = static_cast<scmp_filter_ctx>(ctx_);
  int rc = seccomp_load(ctx);
  if (rc != 0) return Error::system("load seccomp filter", -rc);
  if (!notify_) return UniqueFd();
  int listener = seccomp_notify_fd(ctx);
  if (listener < 0) return Error::system("seccomp notify listener", -listener);
  return UniqueFd(listener);
}

nlohmann::ordered_json container_process_state(const nlohmann::ordered_json& state, pid_t pid,
                                               const std::string& metadata) {
  nlohmann::ordered_json j;
  j["ociVersion"] = state.value("ociVersion", "");
  j["fds"] = nlohmann::ordered_json::array({"seccompFd"});
  j["pid"] = pid;
  if (!metadata.empty()) j["metadata"] = metadata;
  j["state"] = state;
  return j;
}

core::Status send_to_seccomp_agent(const Seccomp& spec, const nlohmann::ordered_json& state, pid_t pid, int listener) {
  const std::string& path = spec.listener_path;
  std::string where = "seccomp agent at linux.seccomp.listenerPath " + path;
  PVEKIT_ASSIGN(auto sock, connect_unix_socket(path, "the seccomp agent at linux.seccomp.listenerPath"));
  std::string message = container_process_state(state, pid, spec.listener_metadata).dump();
  return send_with_fd(sock.get(), message, listener).wrap("send the container process state to the " + where);
}

}  // namespace pvekit::oci::linux
