#include "oci/linux/device_filter.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace pvekit::oci::linux {
namespace {

struct Request {
  uint32_t type;    // BPF_DEVCG_DEV_CHAR / BLOCK
  uint32_t access;  // BPF_DEVCG_ACC_* bits
  uint32_t major, minor;
};

// Runs the program the way the kernel would for one request: just the
// instructions device_filter_program emits, anything else fails the test.
int run(const std::vector<bpf_insn>& program, const Request& request) {
  const std::array<uint32_t, 3> ctx = {request.access << 16 | request.type, request.major, request.minor};
  std::array<uint64_t, 11> reg{};
  for (size_t pc = 0; pc < program.size(); ++pc) {
    const bpf_insn& i = program[pc];
    uint64_t& dst = reg.at(i.dst_reg);
    uint64_t src = reg.at(i.src_reg);
    auto imm = static_cast<uint64_t>(static_cast<int64_t>(i.imm));
    switch (i.code) {
      case BPF_LDX | BPF_W | BPF_MEM:
        if (i.src_reg != 1 || i.off % 4 != 0) throw std::runtime_error("load not from the context");
        dst = ctx.at(static_cast<size_t>(i.off / 4));
        break;
      case BPF_ALU | BPF_AND | BPF_K: dst = static_cast<uint32_t>(dst & imm); break;
      case BPF_ALU | BPF_RSH | BPF_K: dst = static_cast<uint32_t>(dst) >> i.imm; break;
      case BPF_ALU64 | BPF_MOV | BPF_X: dst = src; break;
      case BPF_ALU64 | BPF_MOV | BPF_K: dst = imm; break;
      case BPF_JMP | BPF_JNE | BPF_K: if (dst != imm) pc += static_cast<size_t>(i.off); break;
      case BPF_JMP | BPF_JNE | BPF_X: if (dst != src) pc += static_cast<size_t>(i.off); break;
      case BPF_JMP | BPF_EXIT: return static_cast<int>(reg[0]);
      default: throw std::runtime_error("unexpected instruction");
    }
  }
  throw std::runtime_error("program ran off its end");
}

constexpr uint32_t kChar = BPF_DEVCG_DEV_CHAR, kBlock = BPF_DEVCG_DEV_BLOCK;
constexpr uint32_t kRead = BPF_DEVCG_ACC_READ, kWrite = BPF_DEVCG_ACC_WRITE, kMknod = BPF_DEVCG_ACC_MKNOD;

DeviceRule rule(bool allow, std::string type, std::optional<int64_t> major, std::optional<int64_t> minor,
                std::string access) {
  return {allow, std::move(type), major, minor, std::move(access)};
}

TEST(DeviceFilter, NoRulesDeniesEverything) {
  auto program = device_filter_program({});
  EXPECT_EQ(run(program, {kChar, kRead, 1, 3}), 0);
  EXPECT_EQ(run(program, {kBlock, kMknod, 8, 0}), 0);
}

TEST(DeviceFilter, MatchesTypeMajorMinorAndAccess) {
  auto program = device_filter_program({rule(true, "c", 10, 229, "rw")});
  EXPECT_EQ(run(program, {kChar, kRead, 10, 229}), 1);
  EXPECT_EQ(run(program, {kChar, kRead | kWrite, 10, 229}), 1);
  EXPECT_EQ(run(program, {kChar, kMknod, 10, 229}), 0) << "mknod is not in \"rw\"";
  EXPECT_EQ(run(program, {kChar, kRead | kMknod, 10, 229}), 0) << "every requested access must be allowed";
  EXPECT_EQ(run(program, {kBlock, kRead, 10, 229}), 0) << "block is not char";
  EXPECT_EQ(run(program, {kChar, kRead, 10, 228}), 0);
  EXPECT_EQ(run(program, {kChar, kRead, 11, 229}), 0);
}

TEST(DeviceFilter, WildcardsMatchAnyNumber) {
  auto program = device_filter_program({rule(true, "c", 136, std::nullopt, "rwm"), rule(true, "b", std::nullopt, std::nullopt, "m")});
  EXPECT_EQ(run(program, {kChar, kRead | kWrite, 136, 7}), 1);
  EXPECT_EQ(run(program, {kBlock, kMknod, 8, 1}), 1);
  EXPECT_EQ(run(program, {kBlock, kRead, 8, 1}), 0);
}

TEST(DeviceFilter, LaterRulesOverrideEarlierOnes) {
  auto deny_after_allow = device_filter_program({rule(true, "a", std::nullopt, std::nullopt, "rwm"),
                                                 rule(false, "c", 1, 3, "w")});
  EXPECT_EQ(run(deny_after_allow, {kChar, kRead, 1, 3}), 1);
  EXPECT_EQ(run(deny_after_allow, {kChar, kWrite, 1, 3}), 0);
  EXPECT_EQ(run(deny_after_allow, {kBlock, kWrite, 8, 0}), 1);

  auto allow_after_deny = device_filter_program({rule(false, "c", 1, 3, "rwm"), rule(true, "c", 1, 3, "r")});
  EXPECT_EQ(run(allow_after_deny, {kChar, kRead, 1, 3}), 1);
  EXPECT_EQ(run(allow_after_deny, {kChar, kWrite, 1, 3}), 0);
}

TEST(DeviceFilter, NothingFollowsARuleThatDecidesEverything) {
  // The kernel's verifier refuses unreachable instructions.
  auto program = device_filter_program({rule(true, "c", 1, 3, "rwm"), rule(false, "a", std::nullopt, std::nullopt, "rwm")});
  EXPECT_EQ(program.back().code, BPF_JMP | BPF_EXIT);
  EXPECT_EQ(program[program.size() - 2].imm, 0) << "the last block decides: deny";
  EXPECT_EQ(run(program, {kChar, kRead, 1, 3}), 0) << "the later \"a\" rule overrides the allow";
  auto allow_all = device_filter_program({rule(true, "a", std::nullopt, std::nullopt, "rwm")});
  EXPECT_EQ(allow_all.size(), 8u) << "six loads, then allow and exit";
}

TEST(DeviceFilter, EffectiveRulesKeepRuncsDefaultDevicesLast) {
  EXPECT_TRUE(effective_device_rules({}).empty()) << "no rules: the parent's policy applies";
  auto rules = effective_device_rules({rule(false, "a", std::nullopt, std::nullopt, "rwm")});
  ASSERT_GT(rules.size(), 1u);
  EXPECT_FALSE(rules.front().allow);
  auto program = device_filter_program(rules);
  EXPECT_EQ(run(program, {kChar, kRead | kWrite, 1, 3}), 1) << "/dev/null";
  EXPECT_EQ(run(program, {kChar, kRead | kWrite, 136, 0}), 1) << "/dev/pts/0";
  EXPECT_EQ(run(program, {kChar, kMknod, 4, 1}), 1) << "mknod of any char device";
  EXPECT_EQ(run(program, {kChar, kRead, 4, 1}), 0) << "but not opening it";
  EXPECT_EQ(run(program, {kBlock, kRead, 8, 0}), 0);
}

}  // namespace
}  // namespace pvekit::oci::linux
