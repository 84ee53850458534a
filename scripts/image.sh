#!/usr/bin/env bash
# Builds the pvekit OCI image (proxlb and pvesim) from the programs of a build
# tree, with podman and no registry: nothing is pulled, the image starts from
# `scratch`. Run as root (the image's files have owners).
#
#   PVEKIT_BUILD_DIR=DIR scripts/image.sh   the build tree (default build/package, which
#                                           scripts/package.sh builds); nothing is compiled
#   PVEKIT_IMAGE_TAG=NAME:TAG               the image's name in podman's storage
#                                           (default localhost/pvekit:<version>)
#   PVEKIT_IMAGE_ARCHIVE=FILE               where `podman save` writes the oci-archive
#                                           (default build/pvekit-image_<version>_<arch>.tar);
#                                           empty: no archive
#
# Prints the tag, then the archive's path, on its last lines.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)

die() {
  echo "image: error: $*" >&2
  exit 1
}

for tool in podman ldd git; do
  command -v "$tool" >/dev/null || die "$tool not found (see scripts/setup.sh)"
done
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca_bundle" ] || die "$ca_bundle not found (Debian package ca-certificates)"
[ -d /usr/share/zoneinfo ] || die "/usr/share/zoneinfo not found (Debian package tzdata)"

build=$(cd "${PVEKIT_BUILD_DIR:-$src/build/package}" 2>/dev/null && pwd) ||
  die "build tree ${PVEKIT_BUILD_DIR:-$src/build/package} not found: run scripts/package.sh, or set PVEKIT_BUILD_DIR"
[ -f "$build/CMakeCache.txt" ] || die "$build is not a configured CMake build directory"
for program in proxlb pvesim; do
  [ -x "$build/apps/$program/$program" ] || die "$build/apps/$program/$program is not built (cmake --build $build --target $program)"
done
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
[ -n "$version" ] || die "no CMAKE_PROJECT_VERSION in $build/CMakeCache.txt"
arch=$(podman info --format '{{.Host.Arch}}')
tag=${PVEKIT_IMAGE_TAG:-localhost/pvekit:$version}
archive=${PVEKIT_IMAGE_ARCHIVE-$src/build/pvekit-image_${version}_${arch}.tar}

work=$(mktemp -d "${TMPDIR:-/tmp}/pvekit-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/context/rootfs

# The programs straight from the build tree (an install would also need every
# other program built), stripped with the strip the tree was configured with.
strip=$(sed -n 's/^CMAKE_STRIP:FILEPATH=//p' "$build/CMakeCache.txt")
[ -x "${strip:-}" ] || die "no CMAKE_STRIP in $build/CMakeCache.txt"

# Merged /usr as in Debian 12: /lib, /lib64 and /bin lead into /usr, so every
# path ldd prints (through /lib or /usr/lib) resolves in the image.
mkdir -p "$rootfs"/usr/{bin,lib,lib64} "$rootfs"/etc/ssl/certs "$rootfs"/usr/share "$rootfs"/tmp
ln -s usr/lib "$rootfs/lib"
ln -s usr/lib64 "$rootfs/lib64"
ln -s usr/bin "$rootfs/bin"
chmod 1777 "$rootfs/tmp"
install -m 0755 "$build/apps/proxlb/proxlb" "$build/apps/pvesim/pvesim" "$rootfs/usr/bin/"
"$strip" --strip-unneeded "$rootfs/usr/bin/proxlb" "$rootfs/usr/bin/pvesim"

# Exactly the libraries the programs load, and the dynamic loader, each at the
# path ld.so looks for it (the soname), as a file rather than a symlink.
libs=$(ldd "$rootfs/usr/bin/proxlb" "$rootfs/usr/bin/pvesim" 2>"$work/ldd.log" |
  sed -n -e 's|^\s*\S\+ => \(/\S\+\) (0x[0-9a-f]\+)$|\1|p' -e 's|^\s*\(/\S\+\) (0x[0-9a-f]\+)$|\1|p' | sort -u) ||
  die "ldd failed: $(tail -n 3 "$work/ldd.log")"
ldd "$rootfs/usr/bin/proxlb" "$rootfs/usr/bin/pvesim" | grep -q 'not found' &&
  die "a library of the programs is missing: $(ldd "$rootfs/usr/bin/proxlb" "$rootfs/usr/bin/pvesim" | grep 'not found' | head -n 1)"
[ -n "$libs" ] || die "ldd found no libraries of the programs"
for lib in $libs; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

# proxlb verifies the PVE API's and webhooks' certificates against the
# system CAs unless told otherwise; its cron schedules are in local time (TZ).
cp -L "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
cp -rL /usr/share/zoneinfo "$rootfs/usr/share/zoneinfo"
ln -s ../usr/share/zoneinfo/Etc/UTC "$rootfs/etc/localtime"

# A user for uid 65532 (logs and getpwuid name it), no login, no home.
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
pvekit:x:65532:65532:pvekit:/nonexistent:/usr/sbin/nologin
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
pvekit:x:65532:
GROUP
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
# The daemon's default status socket and audit log directories, owned by its
# user, so they work as they are on a writable root (a read-only one needs
# volumes there: docs/packaging.md, "Container image").
mkdir -p "$rootfs/run/proxlb" "$rootfs/var/log/proxlb" "$rootfs/etc/proxlb"
chmod 0755 "$rootfs/run/proxlb"
chmod 0750 "$rootfs/var/log/proxlb"
chown 65532:65532 "$rootfs/run/proxlb" "$rootfs/var/log/proxlb" ||
  die "cannot give /run/proxlb and /var/log/proxlb to uid 65532 (run as root)"

cp "$src/packaging/container/Containerfile" "$work/context/Containerfile"
revision=$(git -C "$src" rev-parse HEAD 2>/dev/null || echo unknown)
# The commit's time as the image's creation time and every file's: the same
# tree gives the same layer.
created_epoch=$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)
created=$(date -u -d "@$created_epoch" +%Y-%m-%dT%H:%M:%SZ)
# ADD of a tar keeps its owners (COPY would make every file root's).
tar -C "$rootfs" --sort=name --numeric-owner --mtime="@$created_epoch" -cf "$work/context/rootfs.tar" . ||
  die "cannot pack the root file system"
rm -rf "$rootfs"
podman build --quiet --pull=never --network=none --timestamp "$created_epoch" \
  --file "$work/context/Containerfile" --tag "$tag" \
  --label "org.opencontainers.image.title=pvekit" \
  --label "org.opencontainers.image.description=proxlb, a load balancer for Proxmox VE clusters, and pvesim, a Proxmox VE API simulator" \
  --label "org.opencontainers.image.version=$version" \
  --label "org.opencontainers.image.revision=$revision" \
  --label "org.opencontainers.image.created=$created" \
  --label "org.opencontainers.image.vendor=pvekit developers" \
  --label "org.opencontainers.image.documentation=docs/packaging.md" \
  "$work/context" >"$work/build.log" 2>&1 ||
  die "podman build failed: $(tail -n 3 "$work/build.log")"
echo "$tag"

if [ -n "$archive" ]; then
  mkdir -p "$(dirname "$archive")"
  rm -f "$archive"
  podman save --quiet --format oci-archive --output "$archive" "$tag" >"$work/save.log" 2>&1 ||
    die "podman save failed: $(tail -n 3 "$work/save.log")"
  echo "$archive"
fi
