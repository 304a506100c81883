#!/bin/bash
# Docker HEALTHCHECK: healthy when the web server answers GET / with 200 (web_video_server and
# the built-in server both serve their topic list there). The port is the one given to
# roslaunch (PID 1) as port:=N, else 8080. Needs nothing but bash.
port=$(tr '\0' '\n' < /proc/1/cmdline | sed -n 's/^port:=//p' | tail -1)
port=${port:-8080}
status_line() {
  printf 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
  read -r -t 4 line <&3 && printf '%s' "${line%$'\r'}"
}
line=$(status_line 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$port") || { echo "no answer on port $port"; exit 1; }
case "$line" in
  "HTTP/1."?" 200 "*) exit 0 ;;
  *) echo "port $port answered: $line"; exit 1 ;;
esac
