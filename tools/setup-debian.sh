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
    libstb-dev                                    # stb_image(_write).h: PNG files of the examples
)

# Optional: the libFuzzer build (tests/fuzz). The clang package alone lacks the fuzzer
# runtime (libclang_rt.fuzzer-x86_64.a): it is in libclang-rt-14-dev, which clang-14 only
# pulls in as a recommendation of libclang-common-14-dev. Installed with the rest when
# root; if that fails, or we are not root, the build goes on without the fuzzer and the
# fuzz case reports a skip.
OPTIONAL=(clang libclang-rt-14-dev)

is_installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

missing=()
optional_missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${PACKAGES[@]}"; do
        is_installed "$p" || missing+=("$p")
    done
    for p in "${OPTIONAL[@]}"; do
        is_installed "$p" || optional_missing+=("$p")
    done
else
    # Not a dpkg system: check the tools themselves and say what is missing.
    for t in make gcc x86_64-w64-mingw32-gcc x86_64-w64-mingw32-g++ wine wineserver Xvfb; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    compgen -G '/usr/share/vulkan/icd.d/lvp_icd*.json' >/dev/null || missing+=(lavapipe-vulkan-icd)
    [ -f /usr/include/stb/stb_image_write.h ] || missing+=(stb-headers)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: missing ${missing[*]}; install them with your package manager" >&2
        exit 2
    fi
    exit 0
fi

[ ${#missing[@]} -eq 0 ] && [ ${#optional_missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    if [ ${#missing[@]} -eq 0 ]; then
        echo "setup: optional packages missing (no fuzzing): ${optional_missing[*]}" >&2
        exit 0
    fi
    echo "setup: missing packages: ${missing[*]} ${optional_missing[*]}" >&2
    echo "setup: as root, run:  apt-get update && DEBIAN_FRONTEND=noninteractive" \
        "apt-get install -y --no-install-recommends ${missing[*]} ${optional_missing[*]}" >&2
    exit 2
fi

echo "setup: installing ${missing[*]}${missing[*]:+ }${optional_missing[*]}"
export DEBIAN_FRONTEND=noninteractive
start=$(date +%s)
log=$(mktemp /tmp/directport-setup.XXXXXX)
# Quiet unless it fails: apt's progress output would bury the test results.
updated=yes
apt-get update -q >"$log" 2>&1 || updated=
if [ ${#missing[@]} -gt 0 ] &&
    { [ -z "$updated" ] || ! apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; }; then
    tail -n 40 "$log" >&2
    echo "setup: apt-get failed (full log: $log)" >&2
    exit 1
fi
if [ ${#optional_missing[@]} -gt 0 ] &&
    { [ -z "$updated" ] ||
        ! apt-get install -y --no-install-recommends "${optional_missing[@]}" >>"$log" 2>&1; }; then
    echo "setup: could not install ${optional_missing[*]}: building without the fuzzer (log: $log)" >&2
    exit 0
fi
rm -f "$log"
echo "setup: installed in $(( $(date +%s) - start )) s"
