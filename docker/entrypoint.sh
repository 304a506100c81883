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

case "${1:-}" in
  ''|*:=*|-*) exec roslaunch camera_server server.launch "$@" ;;
  *) exec "$@" ;;
esac
