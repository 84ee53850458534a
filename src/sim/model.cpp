#include "sim/model.h"

#include <algorithm>

namespace pvekit::sim {

std::string_view type_path(GuestType type) { return type == GuestType::Qemu ? "qemu" : "lxc"; }
std::string_view ha_prefix(GuestType type) { return type == GuestType::Qemu ? "vm" : "ct"; }

std::string ha_sid(const Guest& guest) {
  return std::string(ha_prefix(guest.type)) + ":" + std::to_string(guest.vmid);
}

Node* Cluster::find_node(const std::string& name) {
  auto it = std::find_if(nodes.begin(), nodes.end(), [&](const Node& n) { return n.name == name; });
  return it == nodes.end() ? nullptr : &*it;
}

const Node* Cluster::find_node(const std::string& name) const {
  return const_cast<Cluster*>(this)->find_node(name);
}

Guest* Cluster::find_guest(int vmid) {
  auto it = guests.find(vmid);
  return it == guests.end() ? nullptr : &it->second;
}

const Guest* Cluster::find_guest(int vmid) const {
  auto it = guests.find(vmid);
  return it == guests.end() ? nullptr : &it->second;
}

const Storage* Cluster::find_storage(const std::string& id) const {
  auto it = std::find_if(storages.begin(), storages.end(), [&](const Storage& s) { return s.id == id; });
  return it == storages.end() ? nullptr : &*it;
}

const HaResource* Cluster::find_ha(const std::string& sid) const {
  auto it = std::find_if(ha_resources.begin(), ha_resources.end(),
                         [&](const HaResource& r) { return r.sid == sid; });
  return it == ha_resources.end() ? nullptr : &*it;
}

bool Cluster::storage_on_node(const Storage& storage, const std::string& node) const {
  return storage.nodes.empty() ||
         std::find(storage.nodes.begin(), storage.nodes.end(), node) != storage.nodes.end();
}

std::string Cluster::volume_key(const Storage& storage, const std::string& node) {
  return storage.shared ? storage.id : node + "/" + storage.id;
}

}  // namespace pvekit::sim

namespace pvekit::sim {

User* AccessControl::find_user(const std::string& userid) {
  auto it = std::find_if(users.begin(), users.end(), [&](const User& u) { return u.userid == userid; });
  return it == users.end() ? nullptr : &*it;
}

const User* AccessControl::find_user(const std::string& userid) const {
  return const_cast<AccessControl*>(this)->find_user(userid);
}

const Group* AccessControl::find_group(const std::string& id) const {
  auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.id == id; });
  return it == groups.end() ? nullptr : &*it;
}

}  // namespace pvekit::sim
