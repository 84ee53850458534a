# Cross build for arm64 (aarch64) with Debian's cross toolchain and multiarch
# libraries: crossbuild-essential-arm64 and the `:arm64` -dev packages that
# scripts/arm64.sh installs. Used by the `arm64` preset (CMakePresets.json).
#
# Debian's cross g++ already searches /usr/include/aarch64-linux-gnu and links
# from /usr/lib/aarch64-linux-gnu, where the `:arm64` packages put their files;
# CMAKE_LIBRARY_ARCHITECTURE makes CMake's find_* look there too. Header-only
# and arch-independent packages (nlohmann-json, Boost, CLI11, the yaml-cpp
# headers) come from the host's /usr/include and /usr/share.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# libyaml-cpp-dev is not co-installable (Multi-Arch: no): installing its
# arm64 flavour would remove the host's. scripts/arm64.sh unpacks it into
# PVEKIT_ARM64_EXTRA_ROOT instead, a prefix searched before /usr.
if(NOT DEFINED PVEKIT_ARM64_EXTRA_ROOT)
  set(PVEKIT_ARM64_EXTRA_ROOT /opt/pvekit-cross/arm64)
endif()
list(PREPEND CMAKE_PREFIX_PATH ${PVEKIT_ARM64_EXTRA_ROOT}/usr)

# Never the host's x86-64 libraries or CMake packages: only the multiarch
# directory, the extra root and arch-independent locations are searched.
set(CMAKE_IGNORE_PATH /usr/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu
    /usr/lib/x86_64-linux-gnu/cmake /usr/include/x86_64-linux-gnu)

# pkg-config answers for arm64: only the arm64 and arch-independent .pc files.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# The tests run arm64 programs under qemu-user. The :arm64 libraries bring
# libc6:arm64, whose dynamic loader is at /lib/ld-linux-aarch64.so.1, so qemu
# needs no -L prefix; with `-L /usr/aarch64-linux-gnu`, qemu 7.2's forked
# children spin forever before their exec (ProcessRunner's unit tests hang).
find_program(PVEKIT_QEMU_AARCH64 NAMES qemu-aarch64-static qemu-aarch64)
if(PVEKIT_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${PVEKIT_QEMU_AARCH64})
endif()
