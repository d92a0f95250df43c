#!/usr/bin/env bash
# tools/setup-debian.sh - installs what building and testing DirectPort needs on Debian
# bookworm, if anything is missing. Run by `make check` before it compiles anything, so a
# machine with only make and git gets there. Quiet and quick when all is present.
#
# Exit status: 0 ready; 2 something is missing and we are not root (the apt-get line to
# run is printed); 1 the install failed.
#
# --no-install-recommends is enough (checked on a minbase bookworm chroot): wine's
# d3d12.dll carries vkd3d itself and reaches Vulkan through libvulkan1 + mesa's lavapipe;
# d3d11 (wined3d) and opengl32 reach GL through libgl1/libglx-mesa0 and mesa's swrast,
# which xvfb and mesa pull in anyway. wine32 (i386) is not needed: everything is 64-bit.
# xauth is not needed: tests/run-wine.sh starts Xvfb without authorization, on a
# local socket only.
set -euo pipefail

PACKAGES=(
    make gcc libc6-dev                            # native unit tests (ASan/UBSan come with gcc)
    gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64     # cross compilers (C, and C++ for the client check)
    wine wine64                                   # /usr/bin/wine and the 64-bit loader
    xvfb                                          # X server for GL and window-bound D3D
    libgl1 libglx-mesa0 libgl1-mesa-dri           # GL for wined3d (D3D11) and opengl32: llvmpipe
    libvulkan1 mesa-vulkan-drivers                # Vulkan for vkd3d (D3D12): lavapipe
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [ "$status" = installed ] || missing+=("$p")
    done
else
    # Not a dpkg system: check the tools themselves and say what is missing.
    for t in make gcc x86_64-w64-mingw32-gcc x86_64-w64-mingw32-g++ wine wineserver Xvfb; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null || missing+=(lavapipe-vulkan-icd)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: missing ${missing[*]}; install them with your package manager" >&2
        exit 2
    fi
    exit 0
fi

[ ${#missing[@]} -eq 0 ] && exit 0

apt_line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: as root, run:  apt-get update && DEBIAN_FRONTEND=noninteractive $apt_line" >&2
    exit 2
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
log=$(mktemp /tmp/directport-setup.XXXXXX)
# Quiet unless it fails: apt's progress output would bury the test results.
if ! { apt-get update -q && $apt_line; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "setup: apt-get failed (full log: $log)" >&2
    exit 1
fi
rm -f "$log"
echo "setup: installed in $(( $(date +%s) - start )) s"
