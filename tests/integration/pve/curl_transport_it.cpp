// CurlTransport against `openssl s_server -www` with a throw-away
// certificate: fingerprint pinning (right, wrong), CA-file verification,
// system CAs rejecting a self-signed certificate, and keep-alive requests.
// Needs the openssl command; skips with the reason when it is missing.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "pve/curl_transport.h"
#include "pve/fingerprint.h"
#include "support/child_process.h"

namespace pvekit::pve {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return out;
  char buf[256];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  pclose(p);
  return out;
}

bool can_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

// A TLS server with a fresh self-signed certificate for 127.0.0.1; stopped
// and its files removed on destruction.
class TlsServer {
 public:
  TlsServer() {
    if (run("command -v openssl").empty()) {
      skip_ = "openssl command not found";
      return;
    }
    dir_ = fs::temp_directory_path() / ("pvekit-tls-it-" + std::to_string(getpid()));
    fs::create_directories(dir_);
    cert_ = (dir_ / "cert.pem").string();
    std::string key = (dir_ / "key.pem").string();
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost"
        " -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " + key + " -out " + cert_ + " 2>/dev/null");
    std::string fp = run("openssl x509 -in " + cert_ + " -noout -fingerprint -sha256");
    auto eq = fp.find('=');
    if (eq != std::string::npos) fingerprint_ = fp.substr(eq + 1);
    while (!fingerprint_.empty() && std::isspace(static_cast<unsigned char>(fingerprint_.back())))
      fingerprint_.pop_back();
    port_ = testing::free_loopback_port();
    const std::string accept = "127.0.0.1:" + std::to_string(port_);
    pid_ = fork();
    if (pid_ == 0) {
      // Only async-signal-safe calls between fork and exec.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, STDOUT_FILENO);
      dup2(devnull, STDERR_FILENO);
      execlp("openssl", "openssl", "s_server", "-www", "-quiet", "-accept", accept.c_str(), "-cert",
             cert_.c_str(), "-key", key.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100 && !can_connect(port_); ++i) std::this_thread::sleep_for(50ms);
  }
  ~TlsServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);  // best effort: a temp dir
  }
  const std::string& skip() const { return skip_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& cert() const { return cert_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  std::string skip_;
  fs::path dir_;
  std::string cert_;
  std::string fingerprint_;
  int port_ = 0;
  pid_t pid_ = -1;
};

class CurlTransportIt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new TlsServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (!server_->skip().empty()) GTEST_SKIP() << server_->skip();
    ASSERT_TRUE(normalize_fingerprint(server_->fingerprint()).has_value())
        << "openssl printed '" << server_->fingerprint() << "'";
  }
  static core::Result<HttpResponse> get(TlsOptions tls) {
    auto t = CurlTransport::create({.tls = std::move(tls), .connect_timeout = 5s, .timeout = 10s});
    if (!t.ok()) return t.error();
    return (*t)->send(HttpRequest{.method = HttpMethod::Get, .url = server_->url()});
  }
  static TlsServer* server_;
};

TlsServer* CurlTransportIt::server_ = nullptr;

TEST_F(CurlTransportIt, PinnedFingerprintIsAccepted) {
  auto r = get({.verify = TlsVerify::Fingerprint, .fingerprints = {server_->fingerprint()}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->body.empty());
}

TEST_F(CurlTransportIt, LowerCaseBareHexPinIsAccepted) {
  std::string bare;
  for (char c : server_->fingerprint())
    if (c != ':') bare += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto r = get({.verify = TlsVerify::Fingerprint, .fingerprints = {"00" + bare.substr(2), bare}});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
}

TEST_F(CurlTransportIt, OtherFingerprintIsRefusedAtTheTlsStage) {
  std::string other = server_->fingerprint();
  other[0] = other[0] == 'A' ? 'B' : 'A';
  auto r = get({.verify = TlsVerify::Fingerprint, .fingerprints = {other}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().category(), core::ErrorCategory::Transport);
  EXPECT_EQ(transport_stage(r.error()), TransportStage::Tls) << r.error().to_string();
  // The message names the certificate seen, so an admin can check and pin it.
  EXPECT_NE(r.error().to_string().find("fingerprint " + server_->fingerprint() + " is not pinned"),
            std::string::npos)
      << r.error().to_string();
}

TEST_F(CurlTransportIt, CaFileVerifiesTheCertificate) {
  auto r = get({.verify = TlsVerify::CaFile, .ca_file = server_->cert()});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->status, 200);
}

TEST_F(CurlTransportIt, SystemCasRejectSelfSignedButInsecureAccepts) {
  auto r = get({.verify = TlsVerify::System});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(transport_stage(r.error()), TransportStage::Tls) << r.error().to_string();
  auto insecure = get({.verify = TlsVerify::Insecure});
  EXPECT_TRUE(insecure.ok()) << insecure.error().to_string();
}

TEST_F(CurlTransportIt, ClosedPortIsAConnectStageError) {
  auto t = CurlTransport::create({.tls = {.verify = TlsVerify::Insecure}, .connect_timeout = 2s});
  ASSERT_TRUE(t.ok());
  auto r = (*t)->send(HttpRequest{.url = "https://127.0.0.1:" + std::to_string(testing::free_loopback_port()) + "/"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(transport_stage(r.error()), TransportStage::Connect) << r.error().to_string();
}

TEST(CurlTransportOptions, BadPinsAndMissingCaFileAreConfigErrors) {
  auto bad_pin = CurlTransport::create({.tls = {.verify = TlsVerify::Fingerprint, .fingerprints = {"AA:BB"}}});
  ASSERT_FALSE(bad_pin.ok());
  EXPECT_EQ(bad_pin.error().category(), core::ErrorCategory::Config);
  auto no_pin = CurlTransport::create({.tls = {.verify = TlsVerify::Fingerprint}});
  EXPECT_FALSE(no_pin.ok());
  auto no_ca = CurlTransport::create({.tls = {.verify = TlsVerify::CaFile, .ca_file = "/nonexistent/ca.pem"}});
  ASSERT_FALSE(no_ca.ok());
  EXPECT_NE(no_ca.error().to_string().find("/nonexistent/ca.pem"), std::string::npos);
}

}  // namespace
}  // namespace pvekit::pve
