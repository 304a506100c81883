"""The real pipeline under test: a ROS master, then `roslaunch camera_server server.launch`.

Everything listens on 127.0.0.1 on free ports; every process is started in
its own session so that it and its children can be ended as one group; every
wait has a deadline.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from urllib.request import urlopen

import procstat

PYTHON = '/usr/bin/python3'  # Debian's ROS 1 imports only here
BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(BENCH_DIR), 'test'))
from support.ros_master import free_port, ros_env, stop as stop_group  # noqa: E402 (shared with the tests)
CAPTURE_PROGRAMS = ('capture_node', 'pipeline_node')
# The benchmark's stream types and their queries. A plain mjpeg request may be served with the
# camera's own JPEG; an explicit quality makes the server encode, as web_video_server always does.
STREAM_QUERIES = {'mjpeg': 'type=mjpeg', 'ros_compressed': 'type=ros_compressed',
                  'mjpeg_q95': 'type=mjpeg&quality=95', 'mjpeg_q80': 'type=mjpeg&quality=80',
                  'h264': 'type=h264', 'vp8': 'type=vp8', 'vp9': 'type=vp9'}
SERVER_PROGRAMS = ('server', 'web_server', 'web_video_server', 'pipeline_node')


class BenchError(RuntimeError):
    """The pipeline could not be brought up or measured; the message says what and where."""


def wait_until(condition, timeout, what, interval=0.2):
    """Poll ``condition()`` until it returns a true value; BenchError after ``timeout`` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise BenchError('%s: not within %.0f s' % (what, timeout))


def http_json(url, timeout=3.0):
    """The JSON body at ``url``, or None when it does not answer 200 with JSON."""
    try:
        with urlopen(url, timeout=timeout) as reply:
            return json.loads(reply.read().decode('utf-8'))
    except (IOError, OSError, ValueError):
        return None


class Pipeline(object):
    """A ROS master plus, in turn, one server.launch per source configuration."""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        os.makedirs(log_dir, exist_ok=True)
        self.master_port = free_port()
        self.env = ros_env(self.master_port, ROS_LOG_DIR=log_dir, ROS_HOME=log_dir, PYTHONUNBUFFERED='1')
        self.env['PATH'] = '/usr/bin:/bin:' + self.env.get('PATH', '')
        self.master = None
        self.launch = None
        self.port = None
        self.capture_pid = self.server_pid = None

    def _popen(self, args, log_name, **kwargs):
        log = open(os.path.join(self.log_dir, log_name), 'ab')
        return subprocess.Popen(args, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)

    def start_master(self):
        self.master = self._popen(['roscore', '-p', str(self.master_port)], 'roscore.log')
        wait_until(lambda: self._master_up(), 30, 'ROS master on port %d (log %s)'
                   % (self.master_port, os.path.join(self.log_dir, 'roscore.log')))

    def _master_up(self):
        if self.master.poll() is not None:
            raise BenchError('roscore exited with %s (log in %s)' % (self.master.returncode, self.log_dir))
        try:
            socket.create_connection(('127.0.0.1', self.master_port), 0.5).close()
        except OSError:
            return False
        return subprocess.call(['rosparam', 'get', '/run_id'], env=self.env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=10) == 0

    def start(self, device, width, height, fps, name, pipeline='two_nodes'):
        """roslaunch server.launch (built-in server, ``pipeline``:= two_nodes, so that each node is
        measured on its own, or one_process) on ``device``; returns when a frame streams.
        With one_process, capture_pid and server_pid are the same process."""
        self.port = free_port()
        args = ['roslaunch', '--wait', 'camera_server', 'server.launch', 'server:=builtin',
                'pipeline:=%s' % pipeline, 'port:=%d' % self.port, 'address:=127.0.0.1', 'device:=%s' % device,
                'width:=%d' % width, 'height:=%d' % height, 'fps:=%d' % fps]
        log_name = 'launch_%s.log' % name
        self.launch = self._popen(args, log_name)
        log_path = os.path.join(self.log_dir, log_name)

        def nodes_up():
            if self.launch.poll() is not None:
                raise BenchError('roslaunch exited with %s; see %s' % (self.launch.returncode, log_path))
            self.capture_pid = procstat.find_descendant(self.launch.pid, CAPTURE_PROGRAMS)
            self.server_pid = procstat.find_descendant(self.launch.pid, SERVER_PROGRAMS)
            return self.capture_pid and self.server_pid
        wait_until(nodes_up, 30, 'capture node and web server processes under roslaunch (%s)' % log_path)
        wait_until(lambda: self.health() is not None, 30, 'web server /health on port %d' % self.port)
        wait_until(self._streams, 30, 'a first frame on %s' % self.stream_url('mjpeg'))

    def _streams(self):
        from client import read_stream
        try:
            return any(True for _ in read_stream(self.stream_url('mjpeg'), time.time() + 5,
                                                 time.time() + 5, max_frames=1))
        except (IOError, OSError):
            return False

    def stream_url(self, stream_type, topic='/camera/image_raw'):
        return 'http://127.0.0.1:%d/stream?topic=%s&%s' % (self.port, topic, STREAM_QUERIES[stream_type])

    def health(self):
        return http_json('http://127.0.0.1:%d/health' % self.port)

    def python_process(self, script, args, log_name):
        """Start one of bench/'s scripts in the pipeline's ROS environment; stdout is piped."""
        log = open(os.path.join(self.log_dir, log_name), 'ab')
        return subprocess.Popen([PYTHON, os.path.join(BENCH_DIR, script)] + list(args), env=self.env,
                                stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
                                start_new_session=True, cwd=BENCH_DIR)

    def stop(self):
        if self.launch is not None:
            stop_group(self.launch)
        self.launch = None
        self.capture_pid = self.server_pid = None

    def close(self):
        self.stop()
        if self.master is not None:
            stop_group(self.master)
        self.master = None


def run_main(name, run):
    """Exit code of ``run()`` (which returns the text to print): 2 with the reason on BenchError.

    SIGTERM unwinds like Ctrl-C, so that every process started so far is ended on the way out.
    """
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('%s stopped by SIGTERM' % name))
    try:
        text = run()
    except BenchError as exc:
        sys.stderr.write('%s failed: %s\n' % (name, exc))
        return 2
    sys.stdout.write(text)
    return 0


def require_ros_package():
    """BenchError unless the camera_server package and server.launch can be found by ROS."""
    try:
        path = subprocess.check_output(['rospack', 'find', 'camera_server'],
                                       stderr=subprocess.STDOUT, timeout=30).decode().strip()
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise BenchError('ROS cannot find the camera_server package (%s); run ". tools/setup test" '
                         'in the repository first' % (exc,))
    launch_file = os.path.join(path, 'launch', 'server.launch')
    if not os.path.exists(launch_file):
        raise BenchError('%s is missing: the benchmark needs the web server launch file' % launch_file)
    return path
