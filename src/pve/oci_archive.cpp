#include "pve/oci_archive.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <utility>

#include "core/strings.h"

namespace pvekit::pve {
namespace {

using core::Error;
using core::ErrorCategory;
using core::Json;

constexpr size_t kBlock = 512;

Error bad_image(const std::string& why) { return Error(ErrorCategory::Parse, "OCI image: " + why); }

Json descriptor_json(const OciDescriptor& d) {
  return {{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
}

Json string_list(const std::vector<std::string>& v) { return Json(v); }

// Writes `value` as `width - 1` octal digits and a NUL into `field`.
bool put_octal(char* field, size_t width, uint64_t value) {
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  return value == 0;
}

uint64_t header_checksum(std::string_view header) {
  uint64_t sum = 0;
  for (size_t i = 0; i < kBlock; ++i) {
    const bool in_field = i >= 148 && i < 156;
    sum += in_field ? static_cast<unsigned char>(' ') : static_cast<unsigned char>(header[i]);
  }
  return sum;
}

std::string field(std::string_view header, size_t offset, size_t width) {
  std::string_view f = header.substr(offset, width);
  return std::string(f.substr(0, std::min(f.find('\0'), f.size())));
}

std::optional<uint64_t> parse_octal(std::string_view header, size_t offset, size_t width) {
  std::string_view f = header.substr(offset, width);
  if (!f.empty() && (static_cast<unsigned char>(f[0]) & 0x80)) {
    // GNU base-256 for sizes beyond 8 GiB.
    uint64_t v = static_cast<unsigned char>(f[0]) & 0x7f;
    for (size_t i = 1; i < f.size(); ++i) v = (v << 8) | static_cast<unsigned char>(f[i]);
    return v;
  }
  uint64_t v = 0;
  bool any = false;
  for (char c : f) {
    if (c == '\0' || c == ' ') {
      if (any) break;
      continue;
    }
    if (c < '0' || c > '7') return std::nullopt;
    v = v * 8 + static_cast<uint64_t>(c - '0');
    any = true;
  }
  return v;
}

// The "path" record of a pax extended header ("<len> path=<name>\n" records).
std::string pax_path(std::string_view data) {
  while (!data.empty()) {
    const auto space = data.find(' ');
    if (space == std::string_view::npos) break;
    auto len = core::parse_int(data.substr(0, space));
    if (!len || *len <= 0 || static_cast<size_t>(*len) > data.size()) break;
    std::string_view record = data.substr(space + 1, static_cast<size_t>(*len) - space - 2);
    if (core::starts_with(record, "path=")) return std::string(record.substr(5));
    data.remove_prefix(static_cast<size_t>(*len));
  }
  return "";
}

core::Result<std::vector<std::string>> strings_of(const Json& config, const char* key) {
  std::vector<std::string> out;
  if (!config.contains(key) || config[key].is_null()) return out;
  if (!config[key].is_array()) return bad_image(std::string("config: ") + key + " must be a list of strings");
  for (const auto& v : config[key]) {
    if (!v.is_string()) return bad_image(std::string("config: ") + key + " must be a list of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

core::Result<std::string> string_of(const Json& config, const char* key) {
  if (!config.contains(key) || config[key].is_null()) return std::string();
  if (!config[key].is_string()) return bad_image(std::string("config: ") + key + " must be a string");
  return config[key].get<std::string>();
}

// The blob a descriptor names, checked against its digest and size.
core::Result<std::string_view> blob(const std::map<std::string, std::string_view>& files, const Json& descriptor,
                                    const std::string& what) {
  if (!descriptor.is_object() || !descriptor.contains("digest") || !descriptor["digest"].is_string())
    return bad_image(what + ": descriptor without a digest");
  const std::string digest = descriptor["digest"].get<std::string>();
  if (!core::starts_with(digest, "sha256:")) return bad_image(what + ": unsupported digest " + digest);
  auto it = files.find(blob_path(digest));
  if (it == files.end()) return bad_image(what + ": blob " + digest + " is missing");
  if (descriptor.contains("size") && descriptor["size"].is_number_unsigned() &&
      descriptor["size"].get<uint64_t>() != it->second.size())
    return bad_image(what + ": blob " + digest + " has " + std::to_string(it->second.size()) + " bytes, the " +
                     "descriptor says " + std::to_string(descriptor["size"].get<uint64_t>()));
  if ("sha256:" + sha256_hex(it->second) != digest) return bad_image(what + ": blob " + digest + " does not match its digest");
  return it->second;
}

core::Result<Json> parse_document(std::string_view text, const std::string& what) {
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return bad_image(what + " is not a JSON object");
  return j;
}

}  // namespace

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr); }

Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256::update(std::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

std::string Sha256::hex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), digest.data(), &len);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0xf]);
  }
  return out;
}

std::string sha256_hex(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.hex();
}

OciDescriptor describe_blob(std::string media_type, std::string_view blob) {
  return {std::move(media_type), "sha256:" + sha256_hex(blob), blob.size()};
}

std::string blob_path(const std::string& digest) {
  const auto colon = digest.find(':');
  return "blobs/" + digest.substr(0, colon) + "/" + digest.substr(colon + 1);
}

OciLayout build_oci_layout(const OciImageConfig& c, const OciDescriptor& layer, const std::string& diff_id,
                           const std::string& arch, const std::string& created) {
  Json run = Json::object();
  if (!c.entrypoint.empty()) run["Entrypoint"] = string_list(c.entrypoint);
  if (!c.cmd.empty()) run["Cmd"] = string_list(c.cmd);
  if (!c.env.empty()) run["Env"] = string_list(c.env);
  if (!c.working_dir.empty()) run["WorkingDir"] = c.working_dir;
  if (!c.user.empty()) run["User"] = c.user;
  if (!c.stop_signal.empty()) run["StopSignal"] = c.stop_signal;
  Json config = {{"created", created},
                 {"architecture", arch},
                 {"os", "linux"},
                 {"config", run},
                 {"rootfs", {{"type", "layers"}, {"diff_ids", Json::array({diff_id})}}},
                 {"history", Json::array({{{"created", created}, {"created_by", "lxcri"}}})}};
  OciLayout out;
  out.oci_layout = Json{{"imageLayoutVersion", "1.0.0"}}.dump();
  out.config = config.dump();
  out.config_descriptor = describe_blob(kOciConfigMediaType, out.config);
  Json manifest = {{"schemaVersion", 2},
                   {"mediaType", kOciManifestMediaType},
                   {"config", descriptor_json(out.config_descriptor)},
                   {"layers", Json::array({descriptor_json(layer)})}};
  out.manifest = manifest.dump();
  out.manifest_descriptor = describe_blob(kOciManifestMediaType, out.manifest);
  Json entry = descriptor_json(out.manifest_descriptor);
  entry["platform"] = {{"architecture", arch}, {"os", "linux"}};
  out.index = Json{{"schemaVersion", 2}, {"mediaType", kOciIndexMediaType}, {"manifests", Json::array({entry})}}.dump();
  return out;
}

core::Result<std::string> tar_file_header(const std::string& name, uint64_t size, int64_t mtime) {
  if (name.empty() || name.size() > 100)
    return Error(ErrorCategory::Config, "tar member name \"" + name + "\" must have 1 to 100 bytes");
  std::string h(kBlock, '\0');
  std::copy(name.begin(), name.end(), h.begin());
  put_octal(&h[100], 8, 0644);
  put_octal(&h[108], 8, 0);
  put_octal(&h[116], 8, 0);
  if (!put_octal(&h[124], 12, size))
    return Error(ErrorCategory::Config, "tar member " + name + " is too large (" + std::to_string(size) + " bytes)");
  put_octal(&h[136], 12, static_cast<uint64_t>(std::max<int64_t>(mtime, 0)));
  h[156] = '0';
  std::copy_n("ustar", 6, &h[257]);
  h[263] = '0';
  h[264] = '0';
  std::copy_n("root", 4, &h[265]);
  std::copy_n("root", 4, &h[297]);
  put_octal(&h[148], 7, header_checksum(h));
  h[155] = ' ';
  return h;
}

std::string tar_padding(uint64_t size) { return std::string((kBlock - size % kBlock) % kBlock, '\0'); }

std::string tar_end() { return std::string(2 * kBlock, '\0'); }

core::Result<std::map<std::string, std::string_view>> tar_files(std::string_view archive) {
  std::map<std::string, std::string_view> files;
  auto damaged = [](const std::string& why) { return Error(ErrorCategory::Parse, "damaged tar archive: " + why); };
  std::string long_name;
  size_t pos = 0;
  while (true) {
    if (pos + kBlock > archive.size()) return damaged("it ends without the closing blocks");
    std::string_view h = archive.substr(pos, kBlock);
    if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) break;
    auto stored = parse_octal(h, 148, 8);
    if (!stored || *stored != header_checksum(h)) return damaged("bad header checksum at byte " + std::to_string(pos));
    auto size = parse_octal(h, 124, 12);
    if (!size) return damaged("bad size at byte " + std::to_string(pos));
    pos += kBlock;
    if (*size > archive.size() - pos) return damaged("a member runs past the end");
    std::string_view data = archive.substr(pos, *size);
    pos += *size + tar_padding(*size).size();
    std::string name = field(h, 0, 100);
    if (field(h, 257, 5) == "ustar" && !field(h, 345, 155).empty()) name = field(h, 345, 155) + "/" + name;
    if (!long_name.empty()) name = std::exchange(long_name, "");
    const char type = h[156];
    if (type == 'L') {
      long_name = std::string(data.substr(0, std::min(data.find('\0'), data.size())));
    } else if (type == 'x') {
      long_name = pax_path(data);
    } else if (type == '0' || type == '\0' || type == '7') {
      if (core::starts_with(name, "./")) name = name.substr(2);
      files[name] = data;
    }
  }
  return files;
}

bool is_oci_archive(const std::map<std::string, std::string_view>& files) {
  const bool blobs = std::any_of(files.begin(), files.end(),
                                 [](const auto& f) { return core::starts_with(f.first, "blobs/"); });
  return files.count("oci-layout") && files.count("index.json") && blobs;
}

core::Result<OciImageConfig> read_oci_image(const std::map<std::string, std::string_view>& files) {
  if (!is_oci_archive(files)) return bad_image("not an OCI image layout (oci-layout, index.json, blobs/)");
  PVEKIT_ASSIGN(Json index, parse_document(files.at("index.json"), "index.json"));
  if (!index.contains("manifests") || !index["manifests"].is_array() || index["manifests"].empty())
    return bad_image("index.json lists no manifests");
  const Json& entry = index["manifests"][0];
  if (entry.value("mediaType", kOciManifestMediaType) != std::string(kOciManifestMediaType))
    return bad_image("index.json: unsupported manifest media type " + entry.value("mediaType", ""));
  PVEKIT_ASSIGN(std::string_view manifest_text, blob(files, entry, "manifest"));
  PVEKIT_ASSIGN(Json manifest, parse_document(manifest_text, "the manifest"));
  if (!manifest.contains("config")) return bad_image("the manifest has no config");
  if (!manifest.contains("layers") || !manifest["layers"].is_array() || manifest["layers"].empty())
    return bad_image("the manifest lists no layers");
  for (size_t i = 0; i < manifest["layers"].size(); ++i) {
    auto layer = blob(files, manifest["layers"][i], "layer " + std::to_string(i));
    if (!layer.ok()) return std::move(layer).error();
  }
  PVEKIT_ASSIGN(std::string_view config_text, blob(files, manifest["config"], "config"));
  PVEKIT_ASSIGN(Json image, parse_document(config_text, "the image config"));
  const Json run = image.contains("config") && image["config"].is_object() ? image["config"] : Json::object();
  OciImageConfig c;
  PVEKIT_ASSIGN(c.entrypoint, strings_of(run, "Entrypoint"));
  PVEKIT_ASSIGN(c.cmd, strings_of(run, "Cmd"));
  PVEKIT_ASSIGN(c.env, strings_of(run, "Env"));
  PVEKIT_ASSIGN(c.working_dir, string_of(run, "WorkingDir"));
  PVEKIT_ASSIGN(c.user, string_of(run, "User"));
  PVEKIT_ASSIGN(c.stop_signal, string_of(run, "StopSignal"));
  return c;
}

OciCtSettings oci_ct_settings(const OciImageConfig& c) {
  OciCtSettings s;
  std::vector<std::string> words = c.entrypoint;
  words.insert(words.end(), c.cmd.begin(), c.cmd.end());
  if (!words.empty()) {
    std::string init = words[0];
    for (size_t i = 1; i < words.size(); ++i) init += " \"" + words[i] + "\"";
    if (init != "/sbin/init") {
      s.entrypoint = init;
      s.cmode = "console";  // an init other than /sbin/init has no getty on the ttys
    }
  }
  if (!c.env.empty()) s.env = core::join(c.env, std::string_view("\0", 1));
  if (!c.working_dir.empty()) s.lxc.emplace_back("lxc.init.cwd", c.working_dir);
  s.lxc.emplace_back("lxc.signal.halt", c.stop_signal.empty() ? "SIGTERM" : c.stop_signal);
  return s;
}

}  // namespace pvekit::pve
