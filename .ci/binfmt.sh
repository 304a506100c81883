#!/bin/bash
# Makes this machine run arm64 programs under qemu (the arm64 stand-in base and its image):
# Debian's qemu-user-static + binfmt-support register qemu with the kernel's binfmt_misc.
# Installs them when missing, mounts binfmt_misc when it is not mounted, enables the entry,
# then checks it the way `make -C docker build-pi4` does (docker/arm64_emulation.sh).
# Exit 0 ready, else non-zero with the reason on stderr (e.g. no right to mount binfmt_misc).
set -eu
export PATH=/usr/bin:/usr/sbin:/bin:/sbin:$PATH
HERE=$(cd "$(dirname "$0")" && pwd)
_sudo=""; [ "$(id -u)" -eq 0 ] || _sudo=sudo

if ! command -v update-binfmts >/dev/null || [ ! -x /usr/bin/qemu-aarch64-static ]; then
  echo "binfmt: installing qemu-user-static binfmt-support"
  $_sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $_sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q \
    --no-install-recommends qemu-user-static binfmt-support
fi
if [ ! -e /proc/sys/fs/binfmt_misc/status ]; then
  $_sudo mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc || {
    echo "binfmt: cannot mount binfmt_misc (needs root on the host or a privileged container)" >&2; exit 1; }
fi
grep -qsx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || $_sudo update-binfmts --enable qemu-aarch64 || true
"$HERE/../docker/arm64_emulation.sh"
echo "binfmt: arm64 programs run through $(sed -n 's/^interpreter //p' /proc/sys/fs/binfmt_misc/qemu-aarch64)"
