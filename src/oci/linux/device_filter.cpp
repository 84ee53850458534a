#include "oci/linux/device_filter.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "oci/fd.h"

namespace pvekit::oci::linux {

using core::Error;
using core::ErrorCategory;
using core::Status;

namespace {

// Registers of the program: the context pointer arrives in r1; the decoded
// request is kept in r2..r5 for every rule block.
constexpr uint8_t kCtx = 1, kType = 2, kAccess = 3, kMajor = 4, kMinor = 5, kScratch = 1, kResult = 0;

bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

bpf_insn load_ctx_word(uint8_t dst, int16_t offset) {
  return insn(BPF_LDX | BPF_W | BPF_MEM, dst, kCtx, offset, 0);
}

int32_t access_bits(const std::string& access) {
  int32_t bits = 0;
  for (char c : access) {
    if (c == 'r') bits |= BPF_DEVCG_ACC_READ;
    if (c == 'w') bits |= BPF_DEVCG_ACC_WRITE;
    if (c == 'm') bits |= BPF_DEVCG_ACC_MKNOD;
  }
  return bits;
}

constexpr int32_t kAllAccess = BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD;

// One rule: each condition that does not hold jumps past the block, to the
// next rule; a request that gets through all of them is decided here. A rule
// without conditions decides every request.
struct RuleBlock {
  std::vector<bpf_insn> insns;
  bool unconditional = false;
};

RuleBlock rule_block(const DeviceRule& rule) {
  std::vector<bpf_insn> block;
  std::vector<size_t> exits;  // jumps to patch to the end of the block
  auto jump_unless_equal_imm = [&](uint8_t reg, int32_t value) {
    exits.push_back(block.size());
    block.push_back(insn(BPF_JMP | BPF_JNE | BPF_K, reg, 0, 0, value));
  };
  if (rule.type == "c" || rule.type == "b")
    jump_unless_equal_imm(kType, rule.type == "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
  int32_t allowed = access_bits(rule.access);
  if (allowed != kAllAccess) {
    // Every requested access must be one the rule names.
    block.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_X, kScratch, kAccess, 0, 0));
    block.push_back(insn(BPF_ALU | BPF_AND | BPF_K, kScratch, 0, 0, allowed));
    exits.push_back(block.size());
    block.push_back(insn(BPF_JMP | BPF_JNE | BPF_X, kScratch, kAccess, 0, 0));
  }
  if (rule.type != "a") {
    if (rule.major) jump_unless_equal_imm(kMajor, static_cast<int32_t>(*rule.major));
    if (rule.minor) jump_unless_equal_imm(kMinor, static_cast<int32_t>(*rule.minor));
  }
  block.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, kResult, 0, 0, rule.allow ? 1 : 0));
  block.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  for (size_t at : exits) block[at].off = static_cast<int16_t>(block.size() - at - 1);
  return {block, exits.empty()};
}

long bpf(int cmd, bpf_attr& attr) { return ::syscall(SYS_bpf, cmd, &attr, sizeof(attr)); }

core::Result<std::vector<uint32_t>> attached_device_programs(int cgroup_fd, const std::string& cgroup_dir) {
  std::vector<uint32_t> ids(64);
  bpf_attr attr{};
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uintptr_t>(ids.data());
  attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
  if (bpf(BPF_PROG_QUERY, attr) != 0)
    return Error::system("query the device programs of cgroup " + cgroup_dir, errno);
  ids.resize(attr.query.prog_cnt);
  return ids;
}

core::Result<UniqueFd> load_program(const std::vector<bpf_insn>& program, const std::string& cgroup_dir) {
  static const char license[] = "Apache";
  std::string log(16384, '\0');
  bpf_attr attr{};
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uintptr_t>(program.data());
  attr.insn_cnt = static_cast<uint32_t>(program.size());
  attr.license = reinterpret_cast<uintptr_t>(license);
  attr.log_buf = reinterpret_cast<uintptr_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  UniqueFd fd(static_cast<int>(bpf(BPF_PROG_LOAD, attr)));
  if (!fd.valid()) {
    int err = errno;
    // The verifier's first line names the problem; the rest is statistics.
    log.resize(std::min(std::strlen(log.c_str()), log.find('\n')));
    std::string why = log.empty() ? "" : " (verifier: " + log + ")";
    return Error::system("load the eBPF device filter for cgroup " + cgroup_dir + why, err);
  }
  return fd;
}

}  // namespace

std::vector<DeviceRule> effective_device_rules(const std::vector<DeviceRule>& spec_rules) {
  if (spec_rules.empty()) return {};
  std::vector<DeviceRule> rules = spec_rules;
  auto allow = [&](const char* type, std::optional<int64_t> major, std::optional<int64_t> minor, const char* access) {
    rules.push_back({true, type, major, minor, access});
  };
  allow("c", std::nullopt, std::nullopt, "m");
  allow("b", std::nullopt, std::nullopt, "m");
  allow("c", 1, 3, "rwm");     // null
  allow("c", 1, 8, "rwm");     // random
  allow("c", 1, 7, "rwm");     // full
  allow("c", 5, 0, "rwm");     // tty
  allow("c", 1, 5, "rwm");     // zero
  allow("c", 1, 9, "rwm");     // urandom
  allow("c", 5, 1, "rwm");     // console
  allow("c", 136, std::nullopt, "rwm");  // pts/*
  allow("c", 5, 2, "rwm");     // ptmx
  allow("c", 10, 200, "rwm");  // net/tun
  return rules;
}

std::vector<bpf_insn> device_filter_program(const std::vector<DeviceRule>& rules) {
  // struct bpf_cgroup_dev_ctx { u32 access_type; /* access << 16 | type */ u32 major; u32 minor; }
  std::vector<bpf_insn> program = {
      load_ctx_word(kType, 0),
      insn(BPF_ALU | BPF_AND | BPF_K, kType, 0, 0, 0xffff),
      load_ctx_word(kAccess, 0),
      insn(BPF_ALU | BPF_RSH | BPF_K, kAccess, 0, 0, 16),
      load_ctx_word(kMajor, 4),
      load_ctx_word(kMinor, 8),
  };
  // Checked from the last rule back, so the first match is the last rule.
  // The verifier refuses unreachable instructions: nothing follows a rule
  // that decides every request.
  for (auto rule = rules.rbegin(); rule != rules.rend(); ++rule) {
    auto block = rule_block(*rule);
    program.insert(program.end(), block.insns.begin(), block.insns.end());
    if (block.unconditional) return program;
  }
  program.push_back(insn(BPF_ALU64 | BPF_MOV | BPF_K, kResult, 0, 0, 0));
  program.push_back(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return program;
}

Status attach_device_filter(const std::string& cgroup_dir, const std::vector<bpf_insn>& program) {
  UniqueFd cgroup(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cgroup.valid()) return Error::system("open cgroup " + cgroup_dir, errno);
  PVEKIT_ASSIGN(auto previous, attached_device_programs(cgroup.get(), cgroup_dir));
  PVEKIT_ASSIGN(auto prog, load_program(program, cgroup_dir));

  bpf_attr attach{};
  attach.target_fd = static_cast<uint32_t>(cgroup.get());
  attach.attach_bpf_fd = static_cast<uint32_t>(prog.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, attach) != 0)
    return Error::system("attach the eBPF device filter to cgroup " + cgroup_dir, errno);

  for (uint32_t id : previous) {
    bpf_attr get{};
    get.prog_id = id;
    UniqueFd old(static_cast<int>(bpf(BPF_PROG_GET_FD_BY_ID, get)));
    if (!old.valid()) {
      if (errno == ENOENT) continue;  // detached meanwhile
      return Error::system("open device program " + std::to_string(id) + " of cgroup " + cgroup_dir, errno);
    }
    bpf_attr detach{};
    detach.target_fd = static_cast<uint32_t>(cgroup.get());
    detach.attach_bpf_fd = static_cast<uint32_t>(old.get());
    detach.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, detach) != 0 && errno != ENOENT)
      return Error::system("detach the previous device filter of cgroup " + cgroup_dir, errno);
  }
  return core::ok();
}

}  // namespace pvekit::oci::linux
