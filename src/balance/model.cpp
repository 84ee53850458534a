#include "balance/model.h"

#include <algorithm>

namespace pvekit::balance {

std::string_view to_string(GuestType type) { return type == GuestType::Qemu ? "qemu" : "lxc"; }

const Node* ClusterState::find_node(std::string_view name) const {
  auto it = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.name == name; });
  return it == nodes.end() ? nullptr : &*it;
}

const Guest* ClusterState::find_guest(uint32_t vmid) const {
  auto it = std::find_if(guests.begin(), guests.end(), [&](const Guest& g) { return g.vmid == vmid; });
  return it == guests.end() ? nullptr : &*it;
}

}  // namespace pvekit::balance
