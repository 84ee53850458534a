#include "oci/signals.h"

#include <csignal>
#include <utility>

#include "core/strings.h"

namespace pvekit::oci {
namespace {

using core::Error;
using core::ErrorCategory;

constexpr std::pair<const char*, int> kSignals[] = {
    {"HUP", SIGHUP}, {"INT", SIGINT}, {"QUIT", SIGQUIT}, {"ILL", SIGILL}, {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"IOT", SIGIOT}, {"BUS", SIGBUS}, {"FPE", SIGFPE}, {"KILL", SIGKILL},
    {"USR1", SIGUSR1}, {"SEGV", SIGSEGV}, {"USR2", SIGUSR2}, {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM}, {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},
    {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},
    {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO}, {"POLL", SIGPOLL}, {"PWR", SIGPWR}, {"SYS", SIGSYS}};

Error bad_signal(const std::string& text) {
  return Error(ErrorCategory::Usage, "unknown signal \"" + text + "\"");
}

// "RTMIN", "RTMIN+3", "RTMAX-2": -1 when not a realtime name.
int parse_realtime(const std::string& name) {
  for (auto [base, value] : {std::pair<const char*, int>{"RTMIN", SIGRTMIN}, {"RTMAX", SIGRTMAX}}) {
    std::string b = base;
    if (name.rfind(b, 0) != 0) continue;
    if (name.size() == b.size()) return value;
    char op = name[b.size()];
    auto n = core::parse_int(name.substr(b.size() + 1));
    if ((op != '+' && op != '-') || !n) return -1;
    int sig = op == '+' ? value + static_cast<int>(*n) : value - static_cast<int>(*n);
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
  }
  return -1;
}

}  // namespace

core::Result<int> parse_signal(const std::string& text) {
  if (auto n = core::parse_int(text)) {
    if (*n <= 0 || *n > SIGRTMAX) return bad_signal(text);
    return static_cast<int>(*n);
  }
  std::string name = core::to_lower(text);
  for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name = name.substr(3);
  for (const auto& [n, sig] : kSignals)
    if (name == n) return sig;
  int rt = parse_realtime(name);
  if (rt > 0) return rt;
  return bad_signal(text);
}

std::string signal_name(int sig) {
  for (const auto& [n, s] : kSignals)
    if (s == sig) return std::string("SIG") + n;
  return "SIG" + std::to_string(sig);
}

}  // namespace pvekit::oci
