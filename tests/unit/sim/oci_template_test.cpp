// OCI image archives as container templates, as PVE 9.1 takes them: uploaded
// to vztmpl as a plain .tar, read at create time into the CT's config.
#include <gtest/gtest.h>

#include "core/clock.h"
#include "pve/oci_archive.h"
#include "sim/api.h"
#include "sim/scenario.h"

namespace pvekit::sim {
namespace {

using core::Json;

std::string tar_of(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  for (const auto& [name, data] : files) out += *pve::tar_file_header(name, data.size(), 0) + data + pve::tar_padding(data.size());
  return out + pve::tar_end();
}

std::string image_archive(const pve::OciImageConfig& config) {
  const std::string layer = "gzip'ed rootfs";
  pve::OciDescriptor layer_desc = pve::describe_blob(pve::kOciLayerGzipMediaType, layer);
  pve::OciLayout l = pve::build_oci_layout(config, layer_desc, "sha256:" + pve::sha256_hex("rootfs"), "amd64",
                                           "2025-01-01T00:00:00Z");
  return tar_of({{"oci-layout", l.oci_layout},
                 {"index.json", l.index},
                 {pve::blob_path(l.manifest_descriptor.digest), l.manifest},
                 {pve::blob_path(l.config_descriptor.digest), l.config},
                 {pve::blob_path(layer_desc.digest), layer}});
}

class OciTemplateTest : public ::testing::Test {
 protected:
  OciTemplateTest() : sim_(default_cluster(clock_.now_unix()), clock_), api_(sim_) {}

  ApiResponse call(const std::string& method, const std::string& path, Params params = {}, std::string upload = "") {
    ApiRequest r{method, path, std::move(params),
                 {{"authorization", std::string("PVEAPIToken=root@pam!pvekit=") + kDefaultTokenSecret}}, {}};
    r.upload = std::move(upload);
    return api_.handle(r);
  }
  static Json data(const ApiResponse& r) { return Json::parse(r.text())["data"]; }

  // Runs a task to its end and returns its status.
  Json finish(const ApiResponse& started) {
    EXPECT_EQ(started.status, 200) << started.text();
    const std::string upid = data(started);
    clock_.advance(std::chrono::seconds(60));
    return data(call("GET", "/nodes/pve1/tasks/" + upid + "/status"));
  }

  ApiResponse upload(const std::string& filename, std::string bytes) {
    return call("POST", "/nodes/pve1/storage/local/upload", {{"content", "vztmpl"}, {"filename", filename}},
                std::move(bytes));
  }

  ApiResponse create(int vmid, const std::string& ostemplate, Params extra = {}) {
    Params p = {{"vmid", std::to_string(vmid)}, {"ostemplate", ostemplate}, {"rootfs", "local-lvm:4"}};
    p.insert(extra.begin(), extra.end());
    return call("POST", "/nodes/pve1/lxc", p);
  }

  core::ManualClock clock_;
  Simulator sim_;
  Api api_;
};

TEST_F(OciTemplateTest, PlainTarUploadsAreAcceptedAsPve91Does) {
  EXPECT_EQ(finish(upload("app.tar", tar_of({{"etc/hostname", "x"}})))["exitstatus"], "OK");
  EXPECT_EQ(finish(upload("APP2.TAR.GZ", "gz"))["exitstatus"], "OK") << "extensions match case-insensitively";
  ApiResponse bad = upload("app.tgz", "x");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Json::parse(bad.text())["errors"]["filename"], "wrong file extension");
  Json content = data(call("GET", "/nodes/pve1/storage/local/content", {{"content", "vztmpl"}}));
  bool listed = false;
  for (const auto& v : content) listed = listed || (v["volid"] == "local:vztmpl/app.tar");
  EXPECT_TRUE(listed) << content.dump();
}

TEST_F(OciTemplateTest, CreateFromAnOciArchiveTakesEntrypointEnvAndCwdFromTheImage) {
  pve::OciImageConfig image;
  image.entrypoint = {"/bin/httpd"};
  image.cmd = {"-f", "-p", "8080"};
  image.env = {"PATH=/bin", "MODE=prod"};
  image.working_dir = "/srv";
  ASSERT_EQ(finish(upload("app.tar", image_archive(image)))["exitstatus"], "OK");
  ApiResponse created = create(400, "local:vztmpl/app.tar", {{"hostname", "app"}});
  Json st = finish(created);
  EXPECT_EQ(st["exitstatus"], "OK") << st.dump();
  Json log = data(call("GET", "/nodes/pve1/tasks/" + data(created).get<std::string>() + "/log"));
  EXPECT_EQ(log[0]["t"], "Detected OCI archive");

  Json cfg = data(call("GET", "/nodes/pve1/lxc/400/config"));
  EXPECT_EQ(cfg["entrypoint"], "/bin/httpd \"-f\" \"-p\" \"8080\"");
  EXPECT_EQ(cfg["cmode"], "console");
  EXPECT_EQ(cfg["env"], std::string("PATH=/bin") + '\0' + "MODE=prod");
  EXPECT_EQ(cfg["lxc"], Json::array({Json::array({"lxc.init.cwd", "/srv"}), Json::array({"lxc.signal.halt", "SIGTERM"})}));
  EXPECT_EQ(cfg["hostname"], "app");
}

TEST_F(OciTemplateTest, ARootfsTarballIsNoOciImage) {
  ASSERT_EQ(finish(upload("rootfs.tar", tar_of({{"bin/sh", "ELF"}})))["exitstatus"], "OK");
  EXPECT_EQ(finish(create(401, "local:vztmpl/rootfs.tar", {{"entrypoint", "/bin/sh"}}))["exitstatus"], "OK");
  Json cfg = data(call("GET", "/nodes/pve1/lxc/401/config"));
  EXPECT_EQ(cfg["entrypoint"], "/bin/sh");
  EXPECT_FALSE(cfg.contains("cmode"));
  EXPECT_FALSE(cfg.contains("lxc"));
}

TEST_F(OciTemplateTest, AMalformedImageFailsTheCreateTaskAndLeavesNoCt) {
  // An image layout whose index points at a manifest that is not there.
  const std::string index = R"({"schemaVersion":2,"manifests":[{"digest":"sha256:)" + std::string(64, 'e') +
                            R"(","size":10}]})";
  ASSERT_EQ(finish(upload("broken.tar", tar_of({{"oci-layout", "{}"}, {"index.json", index},
                                                {"blobs/sha256/" + std::string(64, 'f'), "x"}})))["exitstatus"],
            "OK");
  Json st = finish(create(402, "local:vztmpl/broken.tar"));
  EXPECT_EQ(st["exitstatus"], "unable to create CT 402 - OCI image: manifest: blob sha256:" + std::string(64, 'e') +
                                  " is missing");
  EXPECT_EQ(call("GET", "/nodes/pve1/lxc/402/config").status, 500) << "PVE removes the half-made CT";
}

}  // namespace
}  // namespace pvekit::sim
