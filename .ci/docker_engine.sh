#!/bin/bash
# Installs Debian's docker.io when missing and starts dockerd, unless one already answers.
# The engine runs with --bridge=none --iptables=false: containers and builds use
# --network host, so no traffic ever leaves 127.0.0.1. Safe to run again.
set -eu
export PATH=/usr/bin:/usr/sbin:/bin:/sbin:$PATH
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/camera_server-dockerd.log}
DOCKERD_DEADLINE_S=${DOCKERD_DEADLINE_S:-60}

_sudo=""; [ "$(id -u)" -eq 0 ] || _sudo=sudo

if ! command -v dockerd >/dev/null 2>&1; then
  echo "docker_engine: installing docker.io"
  $_sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $_sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends docker.io
fi

if docker info >/dev/null 2>&1; then
  echo "docker_engine: dockerd already answers"
  exit 0
fi

alive() {  # a process killed a moment ago may linger as a zombie: that does not count
  # shellcheck disable=SC2009  # pgrep does not show whether a process is a zombie
  ps -C "$1" -o stat= 2>/dev/null | grep -qv '^Z'
}
started=""
if ! alive dockerd; then
  # Pid files of a killed engine (and of the containerd it ran) make a new one refuse to start.
  $_sudo rm -f /var/run/docker.pid
  alive containerd || $_sudo rm -f /var/run/docker/containerd/containerd.pid
  echo "docker_engine: starting dockerd (log: $DOCKERD_LOG)"
  # setsid: the engine outlives the shell that started it and gets none of its signals.
  $_sudo setsid dockerd --bridge=none --iptables=false --ip-masq=false \
    >>"$DOCKERD_LOG" 2>&1 < /dev/null &
  started=$!
fi

deadline=$((SECONDS + DOCKERD_DEADLINE_S))
until docker info >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ] || { [ -n "$started" ] && ! kill -0 "$started" 2>/dev/null; }; then
    echo "docker_engine: dockerd exited or did not answer within ${DOCKERD_DEADLINE_S} s; last log lines:" >&2
    tail -20 "$DOCKERD_LOG" >&2
    exit 1
  fi
  sleep 0.5
done
echo "docker_engine: dockerd ready after $((SECONDS)) s ($(docker version -f '{{.Server.Version}}'))"
