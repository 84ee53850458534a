#!/usr/bin/env bash
# The pvekit demo: starts pvesim with its built-in cluster, shows it with
# proxlb (status, plan, balance with live progress, status after), then runs a
# busybox bundle with lxcri: as a Proxmox container on the simulated cluster,
# and natively on this machine. Everything stays on this machine.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh >/dev/null
cmake --preset default >/dev/null
cmake --build --preset default --target pvesim proxlb lxcri | grep -v '^\[' || true
bin="$PWD/build/default/apps"

work=$(mktemp -d)
sim_pid=""
cleanup() {
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

section() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }

section "pvesim: a simulated 5-node Proxmox VE 9.1 cluster (1 real second = 60 cluster seconds)"
"$bin/pvesim/pvesim" --port 0 --time-scale 60 >"$work/pvesim.out" 2>"$work/pvesim.log" &
sim_pid=$!
for _ in $(seq 50); do
  grep -q 'listening on' "$work/pvesim.out" 2>/dev/null && break
  sleep 0.1
done
line=$(grep 'listening on' "$work/pvesim.out") || { cat "$work/pvesim.log"; exit 1; }
echo "$line"
port=$(sed -E 's#.*://[^:]+:([0-9]+).*#\1#' <<<"$line")
fingerprint=$(sed -E 's#.*fingerprint ([0-9A-F:]+).*#\1#' <<<"$line")

cat >"$work/proxlb.yaml" <<YAML
proxmox_api:
  hosts: ["127.0.0.1:$port"]
  user: root@pam
  token_id: pvekit
  token_secret: 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
  ssl_fingerprint: ["$fingerprint"]
balancing:
  method: memory
  mode: used
  balanciness: 5
  parallel: true
  parallel_jobs: 2
YAML
proxlb() { "$bin/proxlb/proxlb" -c "$work/proxlb.yaml" "$@"; }

section "proxlb status (before)"
proxlb status
section "proxlb plan"
proxlb plan
section "proxlb balance"
proxlb balance
section "proxlb status (after)"
proxlb status

bundle="$work/bundle"
mkdir -p "$bundle/rootfs/bin"
cp /bin/busybox "$bundle/rootfs/bin/busybox"
for applet in sh echo uname hostname id; do ln -s busybox "$bundle/rootfs/bin/$applet"; done
(cd "$bundle" && "$bin/lxcri/lxcri" spec)
sed -i 's/"terminal": true/"terminal": false/' "$bundle/config.json"
# A Proxmox CT runs a service: PVE's entrypoint is a plain word list.
cp -a "$bundle" "$work/pve-bundle"
sed -i 's#"sh"#"/bin/busybox", "httpd", "-f", "-p", "8080"#' "$work/pve-bundle/config.json"
sed -i 's#"sh"#"sh", "-c", "echo hello from $(hostname): $(uname -sr); id"#' "$bundle/config.json"

section "lxcri: the bundle as a Proxmox container on pvesim (routed by its id)"
cat >"$work/lxcri.json" <<JSON
{
  "root": "$work/pve-state",
  "proxmox_api": {"hosts": ["127.0.0.1:$port"], "user": "root@pam", "token_id": "pvekit",
                  "token_secret": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "ssl_fingerprint": ["$fingerprint"]},
  "proxmox": {"node": "pve1", "poll_interval_ms": 50},
  "routing": {"rules": {"pve": {"backend": "proxmox", "id": "^pve-"}}}
}
JSON
lx() { echo "\$ lxcri $*"; "$bin/lxcri/lxcri" --config "$work/lxcri.json" "$@"; }
lx create --bundle "$work/pve-bundle" pve-demo
lx start pve-demo
lx list
lx checkpoint --snapshot before_upgrade pve-demo
lx checkpoint --list pve-demo
lx kill pve-demo TERM
lx state pve-demo
lx delete pve-demo

section "lxcri: a busybox container on this machine (native backend)"
if [ "$(id -u)" -ne 0 ]; then
  echo "skipped: lxcri needs root to create namespaces and cgroups here"
  exit 0
fi
"$bin/lxcri/lxcri" --root "$work/state" run --bundle "$bundle" demo
