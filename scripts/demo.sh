#!/usr/bin/env bash
# The pvekit demo: starts pvesim with its built-in cluster, shows it with
# proxlb (status, plan, balance with live progress, status after), then runs a
# busybox bundle with lxcri: as a Proxmox container on the simulated cluster,
# and natively on this machine. Everything stays on this machine.
#
#   bash scripts/demo.sh [--keep]
#
# --keep leaves pvesim and its cluster running at the end, with the config
# files the demo wrote, and prints how to use and stop them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/progress.sh

keep=0
for arg in "$@"; do
  case $arg in
    --keep) keep=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown argument '$arg' (only --keep is known)" >&2; exit 2 ;;
  esac
done

install_and_configure
phase "building pvesim, proxlb and lxcri (2 jobs)" "about 6 minutes from scratch on 2 cores, seconds when up to date"
build_with_progress --preset default --target pvesim proxlb lxcri
bin="$PWD/build/default/apps"
phase "running the demo" "under a minute"

work=$(mktemp -d)
sim_pid=""
cleanup() {
  [ "$keep" = 1 ] && return
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

section() { printf '\n%s== %s ==%s\n' "$progress_bold" "$*" "$progress_reset"; }

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
else
  "$bin/lxcri/lxcri" --root "$work/state" run --bundle "$bundle" demo
fi

phase_summary "demo finished"
cat <<SUMMARY

What you saw: pvesim serving a simulated 5-node Proxmox VE cluster; proxlb's
status, plan and a live balance run on it; lxcri running one busybox bundle
as a Proxmox container through the API and natively on this machine.

The programs:
  $bin/pvesim/pvesim
  $bin/proxlb/proxlb
  $bin/lxcri/lxcri
SUMMARY
if [ "$keep" = 1 ]; then
  cat <<KEEP

pvesim is still running (pid $sim_pid) on 127.0.0.1:$port; the demo's files are in $work.
Three things to try next:
  $bin/proxlb/proxlb -c $work/proxlb.yaml --json plan
  $bin/proxlb/proxlb -c $work/proxlb.yaml best-node --memory 4G
  curl -sk -H 'Authorization: PVEAPIToken=root@pam!pvekit=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' https://127.0.0.1:$port/api2/json/cluster/resources
Stop it with:
  kill $sim_pid; rm -rf $work
KEEP
else
  cat <<NEXT

Three things to try next (run the demo with --keep to keep its cluster running for them):
  $bin/pvesim/pvesim --help        # the simulator: scenarios, --generate, fault injection
  $bin/proxlb/proxlb --help        # the balancer: status, plan, balance, best-node
  man -l packaging/man/lxcri.1     # the runtime, runc's command line
NEXT
fi
