#include "pve/oci_archive.h"

#include <gtest/gtest.h>

namespace pvekit::pve {
namespace {

using core::Json;

std::string tar_of(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string out;
  for (const auto& [name, data] : files) {
    auto header = tar_file_header(name, data.size(), 1700000000);
    EXPECT_TRUE(header.ok()) << name;
    out += *header + data + tar_padding(data.size());
  }
  return out + tar_end();
}

OciImageConfig app_config() {
  OciImageConfig c;
  c.entrypoint = {"/bin/httpd", "-f", "-h", "/srv/www root"};
  c.env = {"PATH=/bin", "MODE=prod"};
  c.working_dir = "/srv";
  c.user = "0:0";
  return c;
}

// An image archive as lxcri writes it, with `layer` as the (opaque) layer blob.
std::string image_archive(const OciImageConfig& config, const std::string& layer = "layer-bytes") {
  OciDescriptor layer_desc = describe_blob(kOciLayerGzipMediaType, layer);
  OciLayout l = build_oci_layout(config, layer_desc, "sha256:" + sha256_hex("uncompressed"), "amd64",
                                 "2025-01-01T00:00:00Z");
  return tar_of({{"oci-layout", l.oci_layout},
                 {"index.json", l.index},
                 {blob_path(l.manifest_descriptor.digest), l.manifest},
                 {blob_path(l.config_descriptor.digest), l.config},
                 {blob_path(layer_desc.digest), layer}});
}

core::Result<OciImageConfig> read(const std::string& archive) {
  auto files = tar_files(archive);
  if (!files.ok()) return std::move(files).error();
  return read_oci_image(*files);
}

TEST(OciArchive, Sha256MatchesKnownVectors) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.hex(), sha256_hex("abc")) << "incremental hashing gives the same digest";
  OciDescriptor d = describe_blob("x", "abc");
  EXPECT_EQ(d.digest, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(d.size, 3u);
  EXPECT_EQ(blob_path(d.digest), "blobs/sha256/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(OciArchive, LayoutDocumentsCarryMediaTypesDigestsAndTheProcess) {
  OciDescriptor layer{kOciLayerGzipMediaType, "sha256:" + std::string(64, 'a'), 1234};
  OciLayout l = build_oci_layout(app_config(), layer, "sha256:" + std::string(64, 'b'), "arm64", "2025-01-01T00:00:00Z");
  EXPECT_EQ(Json::parse(l.oci_layout), Json({{"imageLayoutVersion", "1.0.0"}}));

  Json index = Json::parse(l.index);
  EXPECT_EQ(index["schemaVersion"], 2);
  EXPECT_EQ(index["mediaType"], kOciIndexMediaType);
  ASSERT_EQ(index["manifests"].size(), 1u);
  EXPECT_EQ(index["manifests"][0]["mediaType"], kOciManifestMediaType);
  EXPECT_EQ(index["manifests"][0]["digest"], "sha256:" + sha256_hex(l.manifest));
  EXPECT_EQ(index["manifests"][0]["size"], l.manifest.size());
  EXPECT_EQ(index["manifests"][0]["platform"], Json({{"architecture", "arm64"}, {"os", "linux"}}));

  Json manifest = Json::parse(l.manifest);
  EXPECT_EQ(manifest["mediaType"], kOciManifestMediaType);
  EXPECT_EQ(manifest["config"]["mediaType"], kOciConfigMediaType);
  EXPECT_EQ(manifest["config"]["digest"], "sha256:" + sha256_hex(l.config));
  EXPECT_EQ(manifest["config"]["size"], l.config.size());
  EXPECT_EQ(manifest["layers"], Json::array({{{"mediaType", kOciLayerGzipMediaType},
                                              {"digest", layer.digest}, {"size", 1234}}}));

  Json config = Json::parse(l.config);
  EXPECT_EQ(config["architecture"], "arm64");
  EXPECT_EQ(config["os"], "linux");
  EXPECT_EQ(config["rootfs"], Json({{"type", "layers"}, {"diff_ids", {"sha256:" + std::string(64, 'b')}}}));
  EXPECT_EQ(config["config"]["Entrypoint"], Json({"/bin/httpd", "-f", "-h", "/srv/www root"}));
  EXPECT_EQ(config["config"]["Env"], Json({"PATH=/bin", "MODE=prod"}));
  EXPECT_EQ(config["config"]["WorkingDir"], "/srv");
  EXPECT_EQ(config["config"]["User"], "0:0");
  EXPECT_FALSE(config["config"].contains("Cmd")) << "empty fields are left out";
  EXPECT_FALSE(config["config"].contains("StopSignal"));
}

TEST(OciArchive, TarRoundTripsAndRefusesDamage) {
  const std::string data(700, 'x');
  std::string archive = tar_of({{"oci-layout", "{}"}, {"blobs/sha256/ab", data}});
  EXPECT_EQ(archive.size() % 512, 0u);
  auto files = tar_files(archive);
  ASSERT_TRUE(files.ok()) << files.error().to_string();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ(files->at("oci-layout"), "{}");
  EXPECT_EQ(files->at("blobs/sha256/ab"), data);

  std::string bad = archive;
  bad[0] = 'X';  // the name is covered by the header checksum
  EXPECT_NE(tar_files(bad).error().message().find("checksum"), std::string::npos);
  EXPECT_FALSE(tar_files(archive.substr(0, 1024)).ok()) << "truncated";
  EXPECT_FALSE(tar_file_header(std::string(101, 'n'), 1, 0).ok()) << "names beyond ustar's 100 bytes";
}

TEST(OciArchive, ReadsTheImageConfigBack) {
  auto c = read(image_archive(app_config()));
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->entrypoint, app_config().entrypoint);
  EXPECT_EQ(c->env, app_config().env);
  EXPECT_EQ(c->working_dir, "/srv");
  EXPECT_EQ(c->user, "0:0");
  EXPECT_TRUE(c->cmd.empty());
}

TEST(OciArchive, TellsOciArchivesFromRootfsTarballs) {
  auto rootfs = tar_files(tar_of({{"etc/hostname", "app\n"}, {"bin/sh", "ELF"}}));
  ASSERT_TRUE(rootfs.ok());
  EXPECT_FALSE(is_oci_archive(*rootfs));
  auto image = tar_files(image_archive(app_config()));
  ASSERT_TRUE(image.ok());
  EXPECT_TRUE(is_oci_archive(*image));
}

TEST(OciArchive, MalformedImagesAreRefusedWithTheReason) {
  auto message = [](const std::string& archive) {
    auto c = read(archive);
    EXPECT_FALSE(c.ok());
    return c.ok() ? std::string() : c.error().message();
  };
  EXPECT_NE(message(tar_of({{"oci-layout", "{}"}, {"index.json", "{\"manifests\":[]}"}, {"blobs/sha256/x", ""}}))
                .find("no manifests"),
            std::string::npos);
  EXPECT_NE(message(tar_of({{"oci-layout", "{}"}, {"index.json", "not json"}, {"blobs/sha256/x", ""}}))
                .find("index.json is not a JSON object"),
            std::string::npos);

  // A blob whose bytes do not match its digest.
  OciDescriptor layer = describe_blob(kOciLayerGzipMediaType, "layer");
  OciLayout l = build_oci_layout(app_config(), layer, "sha256:00", "amd64", "2025-01-01T00:00:00Z");
  std::string tampered = l.config;
  tampered.replace(tampered.find("httpd"), 5, "HTTPD");
  EXPECT_NE(message(tar_of({{"oci-layout", l.oci_layout}, {"index.json", l.index},
                            {blob_path(l.manifest_descriptor.digest), l.manifest},
                            {blob_path(l.config_descriptor.digest), tampered},
                            {blob_path(layer.digest), "layer"}}))
                .find("config: blob " + l.config_descriptor.digest + " does not match its digest"),
            std::string::npos);
  // A missing layer.
  EXPECT_NE(message(tar_of({{"oci-layout", l.oci_layout}, {"index.json", l.index},
                            {blob_path(l.manifest_descriptor.digest), l.manifest},
                            {blob_path(l.config_descriptor.digest), l.config}}))
                .find("layer 0: blob " + layer.digest + " is missing"),
            std::string::npos);
  // An image config field of the wrong type.
  const std::string config = R"({"config":{"Entrypoint":"/bin/sh"},"rootfs":{"type":"layers","diff_ids":[]}})";
  OciDescriptor cd = describe_blob(kOciConfigMediaType, config);
  Json manifest = {{"schemaVersion", 2}, {"config", {{"digest", cd.digest}, {"size", cd.size}}},
                   {"layers", {{{"digest", layer.digest}, {"size", layer.size}}}}};
  OciDescriptor md = describe_blob(kOciManifestMediaType, manifest.dump());
  Json index = {{"manifests", {{{"digest", md.digest}, {"size", md.size}}}}};
  EXPECT_NE(message(tar_of({{"oci-layout", "{}"}, {"index.json", index.dump()},
                            {blob_path(md.digest), manifest.dump()}, {blob_path(cd.digest), config},
                            {blob_path(layer.digest), "layer"}}))
                .find("Entrypoint must be a list of strings"),
            std::string::npos);
}

TEST(OciArchive, CtSettingsFollowPve91) {
  OciImageConfig c;
  c.entrypoint = {"/docker-entrypoint.sh"};
  c.cmd = {"nginx", "-g", "daemon off;"};
  c.env = {"PATH=/bin", "A=1"};
  c.working_dir = "/app";
  c.stop_signal = "SIGQUIT";
  OciCtSettings s = oci_ct_settings(c);
  EXPECT_EQ(s.entrypoint, std::optional<std::string>("/docker-entrypoint.sh \"nginx\" \"-g\" \"daemon off;\""));
  EXPECT_EQ(s.cmode, std::optional<std::string>("console"));
  EXPECT_EQ(s.env, std::optional<std::string>(std::string("PATH=/bin") + '\0' + "A=1"));
  using Lxc = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(s.lxc, (Lxc{{"lxc.init.cwd", "/app"}, {"lxc.signal.halt", "SIGQUIT"}}));

  OciImageConfig init;
  init.cmd = {"/sbin/init"};
  OciCtSettings t = oci_ct_settings(init);
  EXPECT_FALSE(t.entrypoint) << "/sbin/init is PVE's default and is not written";
  EXPECT_FALSE(t.cmode);
  EXPECT_FALSE(t.env);
  EXPECT_EQ(t.lxc, (Lxc{{"lxc.signal.halt", "SIGTERM"}})) << "SIGTERM when the image names no StopSignal";
}

}  // namespace
}  // namespace pvekit::pve
