// A seccomp agent for the seccomp_notify scenario of lxcri_test.py.
//
//   lxcri_seccomp_agent SOCKET RECORD
//
// Listens on the AF_UNIX socket SOCKET (prints "ready" once it does). Each
// connection brings a containerProcessState (runtime-spec runtime.md) and the
// descriptors it names in "fds" (SCM_RIGHTS). Every state received and the
// number of notifications answered go to RECORD (JSON, replaced atomically):
//   {"states": [{"id", "status", "statePid", "pid", "metadata", "fds", "received"}], "answered": N}
// Notifications for mkdir/mkdirat get a fake success (return 0, nothing made):
// a container that sees mkdir succeed without a directory appearing was
// answered by this agent. Others get ENOSYS. Runs until killed.

#include <poll.h>
#include <seccomp.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace {

[[noreturn]] void die(const std::string& what) {
  std::cerr << "seccomp_agent: " << what << ": " << std::strerror(errno) << "\n";
  std::exit(1);
}

void write_record(const std::string& path, const nlohmann::json& record) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << record.dump(1) << "\n";
    if (!out) die("write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) die("rename " + tmp);
}

// Receives one containerProcessState with its descriptors; returns the
// listener ("seccompFd") or -1, and appends what came to `states`.
int receive_state(int conn, nlohmann::json& states) {
  std::vector<char> body(64 * 1024);
  iovec iov{body.data(), body.size()};
  constexpr size_t kMaxFds = 8;
  alignas(cmsghdr) char control[CMSG_SPACE(kMaxFds * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = ::recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  if (n <= 0) return -1;
  std::vector<int> fds;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      fds.push_back(fd);
    }
  }
  auto doc = nlohmann::json::parse(std::string(body.data(), static_cast<size_t>(n)), nullptr, false);
  nlohmann::json entry = {{"received", fds.size()}};
  int listener = -1;
  if (!doc.is_discarded()) {
    const auto& state = doc.value("state", nlohmann::json::object());
    entry["id"] = state.value("id", "");
    entry["status"] = state.value("status", "");
    entry["statePid"] = state.value("pid", 0);
    entry["pid"] = doc.value("pid", 0);
    entry["metadata"] = doc.value("metadata", "");
    entry["fds"] = doc.value("fds", nlohmann::json::array());
    for (size_t i = 0; i < entry["fds"].size() && i < fds.size(); ++i)
      if (entry["fds"][i] == "seccompFd") listener = fds[i];
  } else {
    entry["error"] = "not JSON";
  }
  for (int fd : fds)
    if (fd != listener) ::close(fd);
  states.push_back(entry);
  return listener;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " SOCKET RECORD\n";
    return 2;
  }
  std::string socket_path = argv[1], record_path = argv[2];
  int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    std::cerr << "seccomp_agent: socket path too long\n";
    return 2;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (server < 0 || ::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind " + socket_path);
  if (::listen(server, 16) != 0) die("listen");

  nlohmann::json record = {{"states", nlohmann::json::array()}, {"answered", 0}};
  write_record(record_path, record);
  std::cout << "ready" << std::endl;

  seccomp_notif* req = nullptr;
  seccomp_notif_resp* resp = nullptr;
  if (seccomp_notify_alloc(&req, &resp) != 0) die("seccomp_notify_alloc");
  const int mkdir_nr = seccomp_syscall_resolve_name("mkdir");
  const int mkdirat_nr = seccomp_syscall_resolve_name("mkdirat");

  std::vector<int> listeners;
  while (true) {
    std::vector<pollfd> fds = {{server, POLLIN, 0}};
    for (int l : listeners) fds.push_back({l, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      die("poll");
    }
    if (fds[0].revents & POLLIN) {
      int conn = ::accept4(server, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn >= 0) {
        int listener = receive_state(conn, record["states"]);
        ::close(conn);
        if (listener >= 0) listeners.push_back(listener);
        write_record(record_path, record);
      }
    }
    std::vector<int> gone;
    for (size_t i = 1; i < fds.size(); ++i) {
      int l = fds[i].fd;
      if (fds[i].revents & POLLIN) {
        std::memset(req, 0, sizeof *req);
        // ENOENT: the caller died before we read it; nothing to answer.
        if (seccomp_notify_receive(l, req) != 0) continue;
        std::memset(resp, 0, sizeof *resp);
        resp->id = req->id;
        int nr = req->data.nr;
        if (nr == mkdir_nr || nr == mkdirat_nr) {
          resp->val = 0;
          resp->error = 0;
        } else {
          resp->error = -ENOSYS;
        }
        if (seccomp_notify_respond(l, resp) == 0 && resp->error == 0) {
          record["answered"] = record["answered"].get<int>() + 1;
          write_record(record_path, record);
        }
      } else if (fds[i].revents & (POLLHUP | POLLERR)) {
        gone.push_back(l);  // every process under this filter has exited
      }
    }
    for (int l : gone) {
      ::close(l);
      std::erase(listeners, l);
    }
  }
}
