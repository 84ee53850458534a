#include <algorithm>

#include "oci/commands.h"

namespace pvekit::oci {

using core::Error;
using core::ErrorCategory;

namespace {

// Like Go's tabwriter with minwidth 12 and padding 3, as runc's list.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (width.size() <= i) width.push_back(12);
      width[i] = std::max(width[i], row[i].size() + 3);
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i)
      line += i + 1 == row.size() ? row[i] : row[i] + std::string(width[i] - row[i].size(), ' ');
    out << line << "\n";
  }
}

}  // namespace

core::Status cmd_list(Context& ctx, const ListOptions& o) {
  if (o.format != "table" && o.format != "json")
    return Error(ErrorCategory::Usage, "invalid format option \"" + o.format + "\" (table or json)");
  PVEKIT_ASSIGN(auto ids, ctx.store.list());
  std::vector<std::vector<std::string>> rows = {{"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER", "BACKEND"}};
  auto json = nlohmann::ordered_json::array();
  for (const auto& id : ids) {
    auto c = load_container(ctx, id);
    if (!c.ok()) continue;  // deleted meanwhile
    auto j = state_json(*c);
    if (o.quiet) {
      ctx.out << id << "\n";
      continue;
    }
    rows.push_back({id, std::to_string(j["pid"].get<int>()), j["status"].get<std::string>(), c->state.bundle,
                    c->state.created, c->state.owner, c->state.backend});
    json.push_back(std::move(j));
  }
  if (o.quiet) return core::ok();
  // runc encodes an empty list as a nil slice: "null".
  if (o.format == "json") ctx.out << (json.empty() ? std::string("null") : json.dump()) << "\n";
  else print_table(ctx.out, rows);
  return core::ok();
}

}  // namespace pvekit::oci
