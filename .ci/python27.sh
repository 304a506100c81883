#!/bin/bash
# A real Python 2.7 (the interpreter ROS Melodic runs) beside the system, never in it:
# Debian 11's python2.7 from a debootstrap folder, run through that release's own loader,
# plus the Python 2.7 modules at Ubuntu 18.04's (Melodic's) versions where PyPI has them:
# numpy 1.13.3, PyYAML 3.12 (its pure-Python part) and OpenCV 3.4 (the oldest cp27 wheel;
# Melodic has 3.2), unpacked into a folder of their own, and pytest 4.6 (the last for 2.7) with
# its dependencies, so that the unit tests run under 2.7 as they are. Everything lives in
# $CAMERA_SERVER_PY27 (default ~/.cache/camera_server/py27), provisioned again only when what
# goes into it changes (suite, packages, wheels, the wrapper), not when a comment does.
#   .ci/python27.sh               provision; print the interpreter's path
#   .ci/python27.sh ARGS...       provision, then run python2.7 ARGS...
# The interpreter ignores the caller's PYTHONPATH (it holds Python 3 packages when a ROS
# workspace is sourced); PY27_PATH adds entries to its sys.path instead.
set -eu
export PATH=/usr/bin:/usr/sbin:/bin:/sbin:$PATH
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${CAMERA_SERVER_PY27:-$HOME/.cache/camera_server/py27}
PYTHON27=$CACHE/bin/python2.7
SUITE=bullseye
INCLUDE=python2.7,libglib2.0-0  # GLib for OpenCV
WHEELS="numpy==1.13.3 opencv-python-headless==3.4.3.18"
PYYAML=PyYAML==3.12  # no cp27 wheel: its source archive holds the pure-Python module
PYTEST_WHEELS="pytest==4.6.11 pluggy==0.13.1 py==1.11.0 six==1.16.0 attrs==21.4.0 more-itertools==5.0.0
  atomicwrites==1.4.0 packaging==20.9 pyparsing==2.4.7 importlib-metadata==2.1.3 zipp==1.2.0
  configparser==4.0.2 contextlib2==0.6.0.post1 pathlib2==2.3.7.post1 typing==3.10.0.0 funcsigs==1.0.2
  wcwidth==0.2.6 backports.functools-lru-cache==1.6.6"
SCANDIR=scandir==1.10.0  # pathlib2's; no wheel: scandir.py of its source archive is the pure-Python module
# Copies lib/yaml/*.py out of PyYAML's source archive (lib3/ is the Python 3 copy).
EXTRACT_YAML='
import os, sys, zipfile
archive, target = zipfile.ZipFile(sys.argv[1]), sys.argv[2]
os.makedirs(target)
for name in archive.namelist():
    parts = name.split("/")
    if parts[1:3] == ["lib", "yaml"] and parts[-1].endswith(".py"):
        with open(os.path.join(target, parts[-1]), "wb") as module:
            module.write(archive.read(name))
'
root=$CACHE/root
WRAPPER="#!/bin/sh
# Debian 11's python2.7 with its own loader and libraries; see .ci/python27.sh.
PYTHONHOME=$root/usr PYTHONPATH=$CACHE/site-packages\${PY27_PATH:+:\$PY27_PATH} PYTHONDONTWRITEBYTECODE=1 \\
  exec $root/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path $root/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu \\
  $root/usr/bin/python2.7 \"\$@\"
"

recipe=$(printf '%s\n' "$SUITE" "$INCLUDE" "$WHEELS" "$PYYAML" "$PYTEST_WHEELS" "$SCANDIR" "$EXTRACT_YAML" "$WRAPPER" \
  | sha256sum | cut -c1-16)
if [ "$(cat "$CACHE/recipe" 2>/dev/null)" != "$recipe" ]; then
  exec 9>"${CACHE%/}.lock"          # one provisioning at a time when tests run in parallel
  flock -w 900 9
fi
if [ "$(cat "$CACHE/recipe" 2>/dev/null)" != "$recipe" ]; then
  start=$SECONDS
  rm -rf --one-file-system "$CACHE"
  mkdir -p "$CACHE/bin" "$CACHE/site-packages" "$CACHE/wheels"
  command -v debootstrap >/dev/null || {
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends debootstrap
  }
  /usr/bin/python3 -m pip --version >/dev/null 2>&1 || {
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends python3-pip
  }
  echo "python27: debootstrap $SUITE with $INCLUDE into $root" >&2
  debootstrap --variant=minbase --include="$INCLUDE" "$SUITE" "$root" "$("$HERE/debian_mirror.sh")" \
    > "$CACHE/debootstrap.log" 2>&1 || { tail -30 "$CACHE/debootstrap.log" >&2; exit 1; }
  echo "python27: downloading $WHEELS $PYYAML pytest and its dependencies for Python 2.7" >&2
  # shellcheck disable=SC2086
  /usr/bin/python3 -m pip download -q --no-deps --only-binary=:all: --python-version 2.7 \
    --implementation cp --abi cp27mu --platform manylinux1_x86_64 -d "$CACHE/wheels" $WHEELS $PYTEST_WHEELS >&2
  for wheel in "$CACHE"/wheels/*.whl; do
    /usr/bin/python3 -m zipfile -e "$wheel" "$CACHE/site-packages"
  done
  /usr/bin/python3 -m pip download -q --no-deps --no-binary=:all: -d "$CACHE/sdist" "$PYYAML" >&2
  /usr/bin/python3 -c "$EXTRACT_YAML" "$CACHE"/sdist/PyYAML-*.zip "$CACHE/site-packages/yaml"
  /usr/bin/python3 -m pip download -q --no-deps --no-binary=:all: -d "$CACHE/sdist" "$SCANDIR" >&2
  tar -xzf "$CACHE"/sdist/scandir-*.tar.gz -C "$CACHE/site-packages" --strip-components=1 --wildcards '*/scandir.py'
  printf '%s' "$WRAPPER" > "$PYTHON27"
  chmod +x "$PYTHON27"
  "$PYTHON27" -c 'import sys, numpy, yaml, cv2, pytest; assert sys.version_info[:2] == (2, 7)' \
    || { echo "python27: the provisioned interpreter cannot import numpy, yaml, cv2 and pytest" >&2; exit 1; }
  echo "$recipe" > "$CACHE/recipe"
  echo "python27: ready in $((SECONDS - start)) s: $("$PYTHON27" -V 2>&1)" >&2
fi

if [ $# -eq 0 ]; then
  echo "$PYTHON27"
else
  exec "$PYTHON27" "$@"
fi
