#!/bin/bash
# Builds the local stand-in for the ROS base image, since no image can be pulled here:
# Debian 12's own ROS 1 packages in a debootstrap root with an empty catkin workspace at
# /catkin_ws (like ryuichiueda/ubuntu18.04-*-ros-image), turned into an image by `docker import`.
# Skipped when the image exists with the label of its recipe: a hash of what goes into it (suite,
# architecture, packages, the steps in the root), so editing a comment here rebuilds nothing.
# Needs dockerd running (.ci/docker_engine.sh).
# Usage: .ci/docker_base.sh [--arch ARCH] [image name]
# --arch arm64 on an amd64 machine builds the arm64 twin (default name: the amd64 name + "-arm64")
# through qemu-user-static's binfmt registration (.ci/binfmt.sh): debootstrap's first stage
# unpacks natively, its second stage and everything after run as arm64 programs under qemu.
set -eu
export PATH=/usr/bin:/usr/sbin:/bin:/sbin:$PATH
HERE=$(cd "$(dirname "$0")" && pwd)
HOST_ARCH=$(dpkg --print-architecture)
ARCH=$HOST_ARCH
if [ "${1:-}" = --arch ]; then ARCH=$2; shift 2; fi
case $ARCH in
  "$HOST_ARCH"|arm64) ;;
  *) echo "docker_base: --arch $ARCH: accepted values are $HOST_ARCH and arm64" >&2; exit 2 ;;
esac
BASE_IMAGE=${CAMERA_SERVER_BASE_IMAGE:-camera-server-base:debian}
[ "$ARCH" = "$HOST_ARCH" ] || BASE_IMAGE=$BASE_IMAGE-$ARCH
BASE_IMAGE=${1:-$BASE_IMAGE}
SUITE=bookworm
# What the real base has (ROS core, catkin, a compiler for catkin_make) plus what this package
# runs with (package.xml's keys), so that `docker build` needs no package registry.
PACKAGES=$( (printf '%s\n' ros-core catkin build-essential cmake rosbash ca-certificates
             "$HERE/../tools/debian-packages" run) | LC_ALL=C sort -u | tr '\n' ' ')
# Run in the root with the packages as arguments.
IN_ROOT='
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
  apt-get clean
  rm -rf /var/lib/apt/lists/*
  mkdir -p /catkin_ws/src
  cd /catkin_ws && catkin_make -DPYTHON_EXECUTABLE=/usr/bin/python3 > /dev/null
  echo ". /catkin_ws/devel/setup.bash" >> /root/.bashrc
'
recipe=$(printf '%s\n' "$SUITE" "$ARCH" "$PACKAGES" "$IN_ROOT" | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{index .Config.Labels "camera_server.recipe"}}' "$BASE_IMAGE" 2>/dev/null)" = "$recipe" ]; then
  echo "docker_base: $BASE_IMAGE is up to date (recipe $recipe)"
  exit 0
fi

if [ "$ARCH" != "$HOST_ARCH" ]; then
  "$HERE/binfmt.sh"
fi
command -v debootstrap >/dev/null || {
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends debootstrap
}
mirror=$("$HERE/debian_mirror.sh")
root=$(mktemp -d "${TMPDIR:-/var/tmp}/camera_server-base.XXXXXX")
cleanup() {
  umount "$root/proc" "$root/sys" 2>/dev/null || true  # the second stage mounts both
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT

start=$SECONDS
echo "docker_base: debootstrap $SUITE ($ARCH) into $root"
if [ "$ARCH" = "$HOST_ARCH" ]; then
  debootstrap --variant=minbase "$SUITE" "$root" "$mirror" > "$root.log" 2>&1 || { tail -30 "$root.log"; exit 1; }
else
  # binfmt's F flag (fix-binary) lets the kernel run the root's arm64 programs without a
  # qemu binary copied into it; a second stage that runs proves it before any ROS work.
  if ! { debootstrap --variant=minbase --arch "$ARCH" --foreign "$SUITE" "$root" "$mirror" > "$root.log" 2>&1 \
         && chroot "$root" /debootstrap/debootstrap --second-stage >> "$root.log" 2>&1; }; then
    tail -30 "$root.log"; exit 1
  fi
  echo "docker_base: inside the root uname -m says $(chroot "$root" uname -m)"
fi
rm -f "$root.log"
echo "deb $mirror $SUITE main" > "$root/etc/apt/sources.list"
mount -t proc proc "$root/proc"
echo "docker_base: installing ROS packages"
# shellcheck disable=SC2086
chroot "$root" /bin/sh -ec "$IN_ROOT" in_root $PACKAGES > "$root.log" 2>&1 \
  || { tail -30 "$root.log"; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
umount "$root/proc"

echo "docker_base: importing $BASE_IMAGE"
# --platform: Docker 20.10 without experimental mode accepts it and still records amd64.
tar -C "$root" -c . | docker import --platform "linux/$ARCH" \
  --change "LABEL camera_server.recipe=$recipe" \
  --change 'ENV LANG=C.UTF-8' \
  --change 'WORKDIR /root' \
  --change 'CMD ["/bin/bash"]' \
  - "$BASE_IMAGE" > /dev/null
echo "docker_base: $BASE_IMAGE built in $((SECONDS - start)) s ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{printf "%d MB", $1/1e6}'))"
