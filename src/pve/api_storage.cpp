#include <filesystem>

#include "core/files.h"
#include "pve/api.h"
#include "pve/api_internal.h"

namespace pvekit::pve {

using core::Error;
using core::ErrorCategory;

core::Result<std::vector<StorageConfig>> get_storage_configs(Client& client, const std::string& type) {
  Params params;
  params.set_nonempty("type", type);
  return detail::parse_answer(client.get("/storage", params), "GET /storage", parse_storage_configs);
}

core::Result<std::vector<NodeStorage>> get_node_storages(Client& client, const std::string& node,
                                                         const std::string& content) {
  const std::string path = node_path(node) + "/storage";
  Params params;
  params.set_nonempty("content", content);
  return detail::parse_answer(client.get(path, params), "GET " + path, parse_node_storages);
}

core::Result<std::vector<StorageContent>> get_storage_content(Client& client, const std::string& node,
                                                              const std::string& storage,
                                                              const std::string& content,
                                                              std::optional<int64_t> vmid) {
  const std::string path = node_path(node) + "/storage/" + encode_path_segment(storage) + "/content";
  Params params;
  params.set_nonempty("content", content).set_if("vmid", vmid);
  return detail::parse_answer(client.get(path, params), "GET " + path, parse_storage_content);
}

namespace {

std::string form_field(const std::string& boundary, const std::string& name, const std::string& value) {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value +
         "\r\n";
}

// Quotes are not allowed in the filename parameter; PVE normalizes names anyway.
std::string safe_filename(std::string name) {
  for (char& c : name) {
    if (c == '"' || c == '\r' || c == '\n' || c == '\\') c = '_';
  }
  return name;
}

}  // namespace

Multipart build_upload_body(const UploadOptions& options, const std::string& filename, const std::string& data) {
  // The boundary must not occur in the data; extend it until it does not.
  std::string boundary = "pvekit-upload-7d3f9a1c";
  while (data.find(boundary) != std::string::npos) boundary += "x";
  std::string body = form_field(boundary, "content", options.content);
  if (!options.checksum.empty()) {
    body += form_field(boundary, "checksum", options.checksum);
    body += form_field(boundary, "checksum-algorithm", options.checksum_algorithm);
  }
  // PVE reads the form fields before the file, so the file goes last.
  body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"filename\"; filename=\"" +
          safe_filename(filename) + "\"\r\nContent-Type: application/octet-stream\r\n\r\n";
  body += data;
  body += "\r\n--" + boundary + "--\r\n";
  return Multipart{.content_type = "multipart/form-data; boundary=" + boundary, .body = std::move(body)};
}

core::Result<std::string> upload_to_storage(Client& client, const UploadOptions& options) {
  const std::string path =
      node_path(options.node) + "/storage/" + encode_path_segment(options.storage) + "/upload";
  const std::string context = "POST " + path;
  if (options.checksum.empty() != options.checksum_algorithm.empty())
    return Error(ErrorCategory::Config, "checksum and checksum_algorithm go together").wrap(context);
  auto data = core::read_file(options.file);
  if (!data.ok()) return std::move(data).error().wrap(context);
  std::string filename = options.filename.empty()
                             ? std::filesystem::path(options.file).filename().string()
                             : options.filename;
  Multipart body = build_upload_body(options, filename, *data);
  ApiRequest request{.method = HttpMethod::Post,
                     .path = path,
                     .raw = RawBody{.content_type = body.content_type, .bytes = std::move(body.body)},
                     .timeout = options.timeout};
  return detail::expect_upid(client.call(request), context);
}

core::Result<std::string> delete_volume(Client& client, const std::string& node, const std::string& volid) {
  const auto colon = volid.find(':');
  if (colon == std::string::npos || colon == 0)
    return Error(ErrorCategory::Config, "volume id '" + volid + "': expected storage:volume");
  const std::string path = node_path(node) + "/storage/" + encode_path_segment(volid.substr(0, colon)) +
                           "/content/" + encode_path_segment(volid);
  return detail::expect_upid(client.del(path), "DELETE " + path);
}

}  // namespace pvekit::pve
