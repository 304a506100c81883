#!/bin/bash
# Container entry point: sources the ROS workspace, then becomes roslaunch (exec), so that
# `docker stop` reaches roslaunch itself and the container ends in about a second.
#   docker run camera-server [ARG:=VALUE ...]   roslaunch camera_server server.launch ARGS
#     (several cameras: docker run --device=/dev/video0 --device=/dev/video2 camera-server \
#      cameras:="front=/dev/video0 rear=/dev/video2:640x480")
#   docker run -it camera-server bash           any other command runs in the sourced environment
set -e
# shellcheck disable=SC1090,SC1091
for setup in /opt/ros/*/setup.bash; do [ -f "$setup" ] && . "$setup"; done
# shellcheck disable=SC1091
. /catkin_ws/devel/setup.bash

# The built-in server unless told server:=...: the base has web_video_server installed, so
# server:=auto would pick it, and it costs 21.7 % of a core for one 1280x720 viewer where the
# built-in server forwarding the camera's JPEG takes 1.3 % (and it has no working video types).
server=server:=builtin
for arg in "$@"; do
  case "$arg" in server:=*) server= ;; esac
done
case "${1:-}" in
  ''|*:=*|-*) exec roslaunch camera_server server.launch ${server:+"$server"} "$@" ;;
  *) exec "$@" ;;
esac
