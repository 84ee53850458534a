// SCMP_ACT_NOTIFY: listenerPath/listenerMetadata in the spec model and its
// validation, the listener riding the sync socket, and the containerProcessState
// sent to the agent.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "oci/cli.h"
#include "oci/linux/seccomp.h"
#include "oci/linux/sync.h"
#include "oci/state.h"
#include "support/temp_dir.h"

namespace pvekit::oci {
namespace {

Json config_with_seccomp(const Json& seccomp) {
  Json j = Json::parse(R"({
    "ociVersion": "1.0.2",
    "process": {"user": {"uid": 0, "gid": 0}, "args": ["sh"], "cwd": "/"},
    "root": {"path": "rootfs"},
    "linux": {"namespaces": [{"type": "mount"}]}
  })");
  j["linux"]["seccomp"] = seccomp;
  return j;
}

Json notify_profile() {
  return Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock",
      "listenerMetadata": "tenant=a", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]})");
}

// The error message of parsing `seccomp`; fails the test when it parses or
// when the error does not name its field in the details too.
std::string error_of(const Json& seccomp) {
  auto spec = parse_spec(config_with_seccomp(seccomp));
  if (spec.ok()) {
    ADD_FAILURE() << "parsed: " << seccomp.dump();
    return "";
  }
  const std::string& message = spec.error().message();
  auto field = spec.error().details().find("field");
  EXPECT_TRUE(field != spec.error().details().end() && message.rfind(field->second + ": ", 0) == 0) << message;
  return message;
}

TEST(SeccompNotifySpec, ParsesListenerPathAndMetadata) {
  auto spec = parse_spec(config_with_seccomp(notify_profile()));
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  const Seccomp& s = *spec->linux->seccomp;
  EXPECT_EQ(s.listener_path, "/run/agent.sock");
  EXPECT_EQ(s.listener_metadata, "tenant=a");
  EXPECT_TRUE(s.uses_notify());
  EXPECT_EQ(s.syscalls.at(0).action, "SCMP_ACT_NOTIFY");
}

TEST(SeccompNotifySpec, WithoutNotifyTheListenerIsOptional) {
  Json p = Json::parse(R"({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]})");
  auto spec = parse_spec(config_with_seccomp(p));
  ASSERT_TRUE(spec.ok()) << spec.error().to_string();
  EXPECT_FALSE(spec->linux->seccomp->uses_notify());
  EXPECT_TRUE(spec->linux->seccomp->listener_path.empty());
}

TEST(SeccompNotifySpec, NotifyNeedsAListenerPath) {
  Json p = notify_profile();
  p.erase("listenerPath");
  EXPECT_EQ(error_of(p), "linux.seccomp.listenerPath: is required when an action is SCMP_ACT_NOTIFY");
  p = Json::parse(R"({"defaultAction": "SCMP_ACT_NOTIFY"})");
  EXPECT_EQ(error_of(p), "linux.seccomp.listenerPath: is required when an action is SCMP_ACT_NOTIFY");
}

TEST(SeccompNotifySpec, ListenerPathMustBeAnAbsoluteSocketPath) {
  Json p = notify_profile();
  p["listenerPath"] = "run/agent.sock";
  EXPECT_EQ(error_of(p), "linux.seccomp.listenerPath: must be an absolute path, got \"run/agent.sock\"");
  p["listenerPath"] = "/" + std::string(sizeof(sockaddr_un::sun_path), 'x');
  EXPECT_NE(error_of(p).find("linux.seccomp.listenerPath: longer than a unix socket path can be"),
            std::string::npos);
  p["listenerPath"] = 7;
  EXPECT_NE(error_of(p).find("linux.seccomp.listenerPath"), std::string::npos);
}

TEST(SeccompNotifySpec, NotifyAsDefaultActionIsRefused) {
  Json p = notify_profile();
  p["defaultAction"] = "SCMP_ACT_NOTIFY";
  EXPECT_EQ(error_of(p).rfind("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action", 0), 0u);
}

TEST(SeccompNotifySpec, NotifyForTheHandOverSyscallIsRefused) {
  Json p = notify_profile();
  p["syscalls"].push_back({{"names", {"read", "sendmsg"}}, {"action", "SCMP_ACT_NOTIFY"}});
  EXPECT_EQ(error_of(p).rfind("linux.seccomp.syscalls[1].names[1]: SCMP_ACT_NOTIFY cannot be used for sendmsg", 0),
            0u);
  // Another action for sendmsg is fine.
  p["syscalls"][1]["action"] = "SCMP_ACT_ERRNO";
  EXPECT_TRUE(parse_spec(config_with_seccomp(p)).ok());
}

TEST(SeccompNotifySpec, FeaturesListTheAction) {
  const auto& actions = known_seccomp_actions();
  EXPECT_NE(std::find(actions.begin(), actions.end(), "SCMP_ACT_NOTIFY"), actions.end());
  std::vector<std::string> args = {"lxcri", "features"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream out, err;
  ASSERT_EQ(run_cli(static_cast<int>(args.size()), argv.data(), out, err), 0) << err.str();
  Json listed = Json::parse(out.str())["linux"]["seccomp"]["actions"];
  EXPECT_NE(std::find(listed.begin(), listed.end(), "SCMP_ACT_NOTIFY"), listed.end()) << listed.dump();
}

}  // namespace

namespace linux {
namespace {

TEST(SeccompNotifyFilter, ActionAndListenerOnlyWhenARuleNotifies) {
  auto action = seccomp_action("SCMP_ACT_NOTIFY", std::nullopt);
  ASSERT_TRUE(action.ok());
  EXPECT_EQ(*action, SCMP_ACT_NOTIFY);

  Seccomp s{.default_action = "SCMP_ACT_ALLOW"};
  // mkdirat: every architecture has it (aarch64 has no mkdir).
  s.syscalls.push_back({{"mkdirat"}, "SCMP_ACT_NOTIFY", std::nullopt, {}});
  auto notifying = SeccompFilter::build(s);
  ASSERT_TRUE(notifying.ok()) << notifying.error().to_string();
  EXPECT_TRUE(notifying->notifies());

  // A rule whose syscalls do not exist here adds nothing, so no listener.
  s.syscalls[0].names = {"no_such_syscall"};
  auto empty = SeccompFilter::build(s);
  ASSERT_TRUE(empty.ok()) << empty.error().to_string();
  EXPECT_FALSE(empty->notifies());

  // socketcall is real on 32-bit x86: a filter that also covers it takes
  // the rule (the notify listener shows it went in).
  Seccomp x86{.default_action = "SCMP_ACT_ALLOW"};
  x86.architectures = {"SCMP_ARCH_X86"};
  x86.syscalls.push_back({{"socketcall"}, "SCMP_ACT_NOTIFY", std::nullopt, {}});
  auto x86_filter = SeccompFilter::build(x86);
  ASSERT_TRUE(x86_filter.ok()) << x86_filter.error().to_string();
  EXPECT_TRUE(x86_filter->notifies());

  // Names libseccomp knows only as pseudo-syscalls on this architecture
  // (socketcall on x86_64 and aarch64, mkdir on aarch64) build a filter too,
  // alone and beside the 32-bit architecture that has them.
  for (const char* pseudo : {"socketcall", "mkdir"}) {
    for (bool with_32bit : {false, true}) {
      Seccomp p{.default_action = "SCMP_ACT_ALLOW"};
      if (with_32bit) p.architectures = {"SCMP_ARCH_X86", "SCMP_ARCH_ARM"};
      p.syscalls.push_back({{pseudo}, "SCMP_ACT_ERRNO", std::nullopt, {}});
      auto built = SeccompFilter::build(p);
      EXPECT_TRUE(built.ok()) << pseudo << (with_32bit ? " with 32-bit" : "") << ": " << built.error().to_string();
    }
  }

  s.syscalls[0] = {{"mkdirat"}, "SCMP_ACT_ERRNO", std::nullopt, {}};
  auto plain = SeccompFilter::build(s);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->notifies());
}

TEST(SeccompNotifyState, IsTheContainerProcessStateOfTheRuntimeSpec) {
  ContainerState st{.id = "c1", .status = ContainerStatus::Creating, .pid = 4242, .bundle = "/b",
                    .annotations = {{"k", "v"}}};
  st.oci_version = "1.0.2";
  auto state = runc_state_json(st, ContainerStatus::Creating);
  auto j = container_process_state(state, 4242, "tenant=a");
  EXPECT_EQ(j["ociVersion"], "1.0.2");
  EXPECT_EQ(j["fds"], nlohmann::ordered_json::array({"seccompFd"}));
  EXPECT_EQ(j["pid"], 4242);
  EXPECT_EQ(j["metadata"], "tenant=a");
  EXPECT_EQ(j["state"]["id"], "c1");
  EXPECT_EQ(j["state"]["status"], "creating");
  EXPECT_EQ(j["state"]["pid"], 4242);
  EXPECT_EQ(j["state"]["bundle"], "/b");
  EXPECT_EQ(j["state"]["annotations"]["k"], "v");
  // runc leaves empty metadata out (omitempty).
  EXPECT_FALSE(container_process_state(state, 7, "").contains("metadata"));
}

// A listening AF_UNIX socket at `path`.
UniqueFd listen_at(const std::string& path) {
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << std::strerror(errno);
  EXPECT_EQ(::listen(s.get(), 4), 0);
  return s;
}

UniqueFd dev_null() { return UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC)); }

// The inode of an open descriptor, to tell that a received fd is the one sent.
ino_t inode_of(int fd) {
  struct stat st{};
  EXPECT_EQ(::fstat(fd, &st), 0);
  return st.st_ino;
}

TEST(SeccompNotifyAgent, GetsTheStateAndTheDescriptorInOneMessage) {
  pvekit::testing::TempDir tmp("lxcri-notify");
  std::string path = tmp.path() + "/agent.sock";
  UniqueFd server = listen_at(path);
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd r(pipe_fds[0]), w(pipe_fds[1]);

  Seccomp spec{.default_action = "SCMP_ACT_ALLOW", .listener_path = path, .listener_metadata = "m"};
  ContainerState st{.id = "c1", .pid = 99, .bundle = "/b"};
  ASSERT_TRUE(send_to_seccomp_agent(spec, runc_state_json(st, ContainerStatus::Creating), 99, w.get()).ok());

  UniqueFd conn(::accept4(server.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_TRUE(conn.valid());
  char body[4096];
  auto got = recv_with_fd(conn.get(), body, sizeof body);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  ASSERT_GT(got->size, 0u);
  ASSERT_TRUE(got->fd.valid()) << "the listener travels with the state";
  EXPECT_EQ(inode_of(got->fd.get()), inode_of(w.get()));
  auto j = Json::parse(std::string(body, got->size));
  EXPECT_EQ(j["fds"], Json::array({"seccompFd"}));
  EXPECT_EQ(j["pid"], 99);
  EXPECT_EQ(j["metadata"], "m");
  EXPECT_EQ(j["state"]["id"], "c1");
}

TEST(SeccompNotifyAgent, NoAgentIsAnErrorNamingTheListenerPath) {
  pvekit::testing::TempDir tmp("lxcri-notify");
  Seccomp spec{.default_action = "SCMP_ACT_ALLOW", .listener_path = tmp.path() + "/none.sock"};
  auto s = send_to_seccomp_agent(spec, nlohmann::ordered_json::object(), 1, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().sys_errno(), ENOENT);
  EXPECT_NE(s.error().to_string().find("linux.seccomp.listenerPath " + spec.listener_path), std::string::npos)
      << s.error().to_string();

  // A socket file nobody listens on any more: refused.
  std::string stale = tmp.path() + "/stale.sock";
  { UniqueFd gone = listen_at(stale); }
  spec.listener_path = stale;
  s = send_to_seccomp_agent(spec, nlohmann::ordered_json::object(), 1, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().sys_errno(), ECONNREFUSED);
}

TEST(SeccompNotifySync, ListenerCrossesTheSyncSocketToTheHandler) {
  auto pair = make_sync_pair();
  ASSERT_TRUE(pair.ok());
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd r(pipe_fds[0]), w(pipe_fds[1]);
  ino_t sent = inode_of(w.get());
  ASSERT_TRUE(send_sync(pair->child.get(), {SyncType::Seccomp, 0, "", std::move(w)}).ok());
  ASSERT_TRUE(send_sync(pair->child.get(), {SyncType::Ready, 0, ""}).ok());
  int calls = 0;
  auto s = expect_sync(pair->parent.get(), SyncType::Ready, [&](UniqueFd listener) {
    ++calls;
    EXPECT_EQ(inode_of(listener.get()), sent);
    return core::ok();
  });
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(calls, 1);
}

TEST(SeccompNotifySync, HandlerErrorsAndUnexpectedListenersFailTheWait) {
  auto pair = make_sync_pair();
  ASSERT_TRUE(pair.ok());
  UniqueFd dup1 = dev_null(), dup2 = dev_null();
  ASSERT_TRUE(send_sync(pair->child.get(), {SyncType::Seccomp, 0, "", std::move(dup1)}).ok());
  auto s = expect_sync(pair->parent.get(), SyncType::Ready);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().to_string(), "sync: unexpected seccomp listener");

  ASSERT_TRUE(send_sync(pair->child.get(), {SyncType::Seccomp, 0, "", std::move(dup2)}).ok());
  s = expect_sync(pair->parent.get(), SyncType::Ready, [](UniqueFd) {
    return core::Status(core::Error::system("connect to the seccomp agent", ECONNREFUSED));
  });
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().to_string(), "seccomp notify listener: connect to the seccomp agent: Connection refused");

  // A Seccomp message must carry the descriptor.
  ASSERT_TRUE(send_sync(pair->child.get(), {SyncType::Seccomp, 0, ""}).ok());
  s = expect_sync(pair->parent.get(), SyncType::Ready, [](UniqueFd) { return core::ok(); });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().to_string().find("without the listener descriptor"), std::string::npos);
}

TEST(SeccompNotifySync, ExecPassesTheListenerThenSucceedsAtEndOfStream) {
  auto pair = make_sync_pair();
  ASSERT_TRUE(pair.ok());
  ASSERT_TRUE(send_sync(pair->child.get(), {SyncType::Seccomp, 0, "", dev_null()}).ok());
  pair->child.reset();
  int calls = 0;
  auto s = expect_exec(pair->parent.get(), [&](UniqueFd listener) {
    ++calls;
    EXPECT_TRUE(listener.valid());
    return core::ok();
  });
  EXPECT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace linux
}  // namespace pvekit::oci
