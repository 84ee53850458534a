#!/usr/bin/env bash
# Builds (once) the booted-Debian test VM of tests/vm: a Debian 12 root made
# with debootstrap from the mirror of the host's apt sources, holding systemd,
# podman, runc, crun and the libraries lxcri, proxlb and pvesim link, as an
# ext4 image plus the kernel and initrd to boot it with qemu -kernel/-initrd.
#
#   tests/vm/build-image.sh [--print-dir]
#
# The image lives in ${PVEKIT_VM_CACHE:-$HOME/.cache/pvekit/vm}/<key>, where
# <key> is a hash of this script: a changed script builds a new image. It is
# built in a temp dir renamed into place, so an interrupted build leaves no
# half image. Prints one summary line (with --print-dir: only the image dir on
# stdout, the summary on stderr); the build's log is <cache>/<key>.log.
# Exits 77 (skip) when the Debian mirror cannot be reached or debootstrap and
# mkfs.ext4 are missing and cannot be installed; any other failure is 1.
#
# The guest: root without a password on the console (ttyS0), 9p shares
# mounted by fstab (tag pvekit_in read-only at /mnt/in, tag pvekit_out
# read-write at /mnt/out), and with `pvekit.test=1` on the kernel command
# line a oneshot unit runs /mnt/in/guest-command (tests/vm/run.py writes it),
# copying its output to /dev/ttyS1 and /mnt/out/output.log and its exit
# status to /mnt/out/status, then powers off. podman keeps Debian's default
# configuration (cgroup_manager systemd).
set -euo pipefail

SKIP=77
script_path="$(readlink -f "$0")"
cache="${PVEKIT_VM_CACHE:-$HOME/.cache/pvekit/vm}"
# The image depends on this script and on how it finds the mirror.
key="$(cat "$script_path" "$(dirname "$script_path")/debian_mirror.py" | sha256sum | cut -c1-16)"
image_dir="$cache/$key"
log="$cache/$key.log"
print_dir=0
[ "${1:-}" = "--print-dir" ] && print_dir=1

summary() {
  if [ $print_dir -eq 1 ]; then
    echo "$image_dir"
    echo "$*" >&2
  else
    echo "$*"
  fi
}

skip() {
  echo "SKIP: $*" >&2
  exit $SKIP
}

if [ -f "$image_dir/root.img" ]; then
  summary "vm image: $image_dir (cached)"
  exit 0
fi

suite=bookworm
packages=(
  systemd systemd-sysv dbus udev kmod linux-image-amd64 initramfs-tools e2fsprogs
  podman conmon runc crun netavark aardvark-dns iptables catatonit containerd apparmor
  busybox-static python3 procps util-linux iproute2
  libyaml-cpp0.7 libspdlog1.10 libfmt9 libseccomp2 libcap2 libsystemd0
  libcurl4 libssl3
)

# The first `deb` source of the host serving $suite/main (deb822 or one-line).
host_mirror() {
  /usr/bin/python3 "$(dirname "$script_path")/debian_mirror.py" "$suite" || true
}

need_tools() {
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] || ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >>"$log" 2>&1; then
    skip "${missing[*]} missing and could not be installed"
  fi
}

# debootstrap mounts /proc and /sys in the root while it configures; nothing
# mounted there may outlive the build, and rm must not reach into a mount.
remove_tree() {
  awk -v top="$1" '$5 == top || index($5, top "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r point; do umount -l "$point" 2>/dev/null || true; done
  rm -rf --one-file-system "$1"
}

[ "$(id -u)" -eq 0 ] || skip "building the VM image needs root (debootstrap)"
mkdir -p "$cache"
exec 9>"$cache/$key.lock"
flock 9  # one build per key; a second caller waits and then finds the image
if [ -f "$image_dir/root.img" ]; then
  summary "vm image: $image_dir (cached)"
  exit 0
fi

: >"$log"
# What a killed build of this key left (its temp dir, maybe with debootstrap's mounts).
for stale in "$cache"/.build-"$key".*; do
  [ -d "$stale" ] && remove_tree "$stale"
done
need_tools
mirror="${PVEKIT_VM_MIRROR:-$(host_mirror)}"
[ -n "$mirror" ] || skip "no Debian $suite mirror in the host's apt sources (set PVEKIT_VM_MIRROR)"
if ! curl -fsS --max-time 30 -o /dev/null "$mirror/dists/$suite/Release" 2>>"$log"; then
  skip "the Debian mirror $mirror cannot be reached"
fi

start=$(date +%s)
work="$(mktemp -d "$cache/.build-$key.XXXXXX")"
root="$work/root"
trap 'remove_tree "$work"' EXIT

step() { echo "== $* ($(($(date +%s) - start)) s)" >>"$log"; }

bootstrap_root() {
  step "debootstrap $suite from $mirror"
  local keyring=()
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] &&
    keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
  mkdir -p "$cache/debs"
  if ! debootstrap --variant=minbase "${keyring[@]}" --cache-dir="$cache/debs" \
      --include="$(IFS=,; echo "${packages[*]}")" "$suite" "$root" "$mirror" >>"$log" 2>&1; then
    echo "build-image: debootstrap failed, see $log" >&2
    tail -n 20 "$log" >&2
    exit 1
  fi
}

write_file() {  # write_file PATH (content on stdin), PATH inside the root
  mkdir -p "$(dirname "$root$1")"
  cat >"$root$1"
}

configure_guest() {
  step "configure the guest"
  chroot "$root" passwd -d root >>"$log" 2>&1
  echo pvekit-vm >"$root/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 pvekit-vm\n::1 localhost\n' >"$root/etc/hosts"
  mkdir -p "$root/mnt/in" "$root/mnt/out"
  # The 9p modules come from the root's /lib/modules, loaded before the shares mount.
  printf '9p\n9pnet_virtio\n' | write_file /etc/modules-load.d/pvekit-9p.conf
  local opts="trans=virtio,version=9p2000.L,msize=524288,nofail,x-systemd.requires=systemd-modules-load.service"
  write_file /etc/fstab <<EOF
/dev/vda / ext4 rw,errors=remount-ro 0 1
pvekit_in /mnt/in 9p ro,$opts 0 0
pvekit_out /mnt/out 9p rw,$opts 0 0
EOF
  write_file /usr/local/sbin/pvekit-vm-test <<'EOF'
#!/bin/bash
# Runs the host's command, its output to this unit's tty (/dev/ttyS1) and to
# the output share, its exit status to /mnt/out/status.
cd /mnt/in
echo "pvekit-vm: unit started $(cut -d' ' -f1 /proc/uptime) s after boot"
/bin/bash /mnt/in/guest-command 2>&1 | tee /mnt/out/output.log
rc=${PIPESTATUS[0]}
echo "$rc" >/mnt/out/status.tmp && mv /mnt/out/status.tmp /mnt/out/status
sync
exit "$rc"
EOF
  chmod 755 "$root/usr/local/sbin/pvekit-vm-test"
  write_file /etc/systemd/system/pvekit-vm-test.service <<'EOF'
[Unit]
Description=pvekit VM test command
ConditionKernelCommandLine=pvekit.test=1
After=multi-user.target dbus.service
RequiresMountsFor=/mnt/in /mnt/out
SuccessAction=poweroff-force
FailureAction=poweroff-force

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/pvekit-vm-test
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS1
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
  systemctl --root="$root" enable pvekit-vm-test.service >>"$log" 2>&1
  systemctl --root="$root" set-default multi-user.target >>"$log" 2>&1
  # Boot time under software emulation goes to loading modules (some seconds
  # each: drm alone takes 4 s). The VM's devices are virtio; the initrd loads
  # virtio_pci/virtio_blk/ext4, the root 9p, the kernel asks for the rest
  # (overlay, bridge, netfilter, loop) when used. So udev loads no drivers by
  # modalias (no VGA, AHCI, CD-ROM, watchdog, crypto or kvm modules).
  write_file /etc/udev/rules.d/80-drivers.rules </dev/null
  systemctl --root="$root" mask modprobe@drm.service modprobe@dm_mod.service modprobe@efi_pstore.service \
    >>"$log" 2>&1
  # Nothing periodic may start in the middle of a test run.
  systemctl --root="$root" mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
    fstrim.timer man-db.timer >>"$log" 2>&1 || true
  # The containerd scenario starts its own private containerd; the system's would only slow the boot.
  systemctl --root="$root" disable containerd.service >>"$log" 2>&1 || true
  # A small initrd with only what finds and mounts the root (MODULES=most is some 30 MB to unpack under emulation).
  printf 'MODULES=list\nCOMPRESS=gzip\n' | write_file /etc/initramfs-tools/conf.d/pvekit.conf
  printf 'virtio_pci\nvirtio_blk\next4\n' >>"$root/etc/initramfs-tools/modules"
  chroot "$root" update-initramfs -u -k all >>"$log" 2>&1
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
}

make_image() {
  step "ext4 image"
  local kernel initrd
  kernel="$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n1)"
  initrd="$root/boot/initrd.img-${kernel##*/vmlinuz-}"
  mkdir "$work/image"
  cp "$kernel" "$work/image/vmlinuz"
  cp "$initrd" "$work/image/initrd.img"
  # Room for podman's storage and the scenarios' containers beside the system.
  local used_mb
  used_mb=$(du -sm "$root" | cut -f1)
  mkfs.ext4 -q -F -L pvekit-root -d "$root" "$work/image/root.img" "$((used_mb + 2048))M" >>"$log" 2>&1
  {
    echo "suite=$suite"
    echo "mirror=$mirror"
    echo "kernel=${kernel##*/vmlinuz-}"
    chroot "$root" dpkg-query -W -f='${Package}=${Version}\n' podman runc crun systemd linux-image-amd64
  } >"$work/image/manifest"
}

bootstrap_root
configure_guest
make_image
mv -T "$work/image" "$image_dir"
# Images of earlier versions of this script are of no further use (a boot
# still running from one keeps its open file).
for old in "$cache"/????????????????; do
  [ "$old" != "$image_dir" ] && [ -f "$old/root.img" ] && rm -rf "$old" "$old.log" "$old.lock"
done
step "done"
summary "vm image: $image_dir (built in $(($(date +%s) - start)) s from $mirror; log $log)"
