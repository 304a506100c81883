"""Helpers for the web server tests: deadlines, image comparison, and server.launch with a real master."""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import cv2
import numpy as np

from support import REPO, SUPPORT_DIR
from support.ci import require
from support.ros_master import ROS_PYTHON, free_port, running_master, start, stop, wait_for_port
from support.stream_client import MjpegStream, http_get
from support.waits import wait_until

LAUNCH = os.path.join(REPO, 'launch', 'server.launch')
TOPIC = '/camera/image_raw'
# server.launch's pipeline:= choices, the default first; the node that serves the web in each.
PIPELINES = ('one_process', 'two_nodes')
WEB_NODES = {'one_process': '/camera', 'two_nodes': '/web_video_server'}


def read_all(streams, seconds, measure):
    """Read ``streams`` in parallel for ``seconds``; returns (frames per stream, measure() before, measure() after).

    Both measurements are taken with every stream open, the second once every reader is done,
    so that /health's totals bracket what the clients read (e.g. ``produced`` between them).
    """
    counts = [0] * len(streams)

    def read(i):
        deadline = time.time() + seconds
        while time.time() < deadline:
            streams[i].read_frame()
            counts[i] += 1
    readers = [threading.Thread(target=read, args=(i,), name='test reader %d' % i) for i in range(len(streams))]
    try:
        before = measure()
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(seconds + 10)
        after = measure()
    finally:
        for stream in streams:
            stream.close()
    return counts, before, after


def topic_stats(health, topic):
    found = [t for t in health['topics'] if t['topic'] == topic]
    assert found, '%s not in /health: %s' % (topic, health)
    return found[0]


def produced(before, after, topic, output=0):
    """(messages, encodes) of ``topic`` and its ``output``-th output between two /health replies.

    The baseline a client's frame count is held to: what the server had to give, whatever
    this machine's speed.
    """
    first, last = topic_stats(before, topic), topic_stats(after, topic)
    return (last['messages_total'] - first['messages_total'],
            last['outputs'][output]['encodes_total'] - first['outputs'][output]['encodes_total'])


def decode(payload):
    img = cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None, 'payload of %d bytes does not decode' % len(payload)
    return img


def read_png_frame(port, topic):
    stream = MjpegStream(port, '/stream?topic=%s&type=png' % topic)
    try:
        assert stream.status == 200, (topic, stream.status_line, stream.body)
        headers, payload = stream.read_frame()
        assert headers['content-type'] == 'image/png', headers
        return decode(payload)
    finally:
        stream.close()


def mean_diff(a, b):
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def child_programs(parent_pid, programs):
    """{program: pid} of the processes ``parent_pid`` started that run one of ``programs`` (roslaunch's nodes)."""
    found = {}
    for name in os.listdir('/proc'):
        try:
            with open('/proc/%s/stat' % name) as stat:
                ppid = int(stat.read().rsplit(')', 1)[1].split()[1])
            with open('/proc/%s/cmdline' % name, 'rb') as cmdline:
                args = cmdline.read().split(b'\0')[:2]
        except (IOError, OSError, ValueError, IndexError):
            continue
        program = [os.path.basename(arg.decode()) for arg in args if os.path.basename(arg.decode()) in programs]
        if ppid == parent_pid and program:
            found[program[0]] = int(name)
    return found


class Launched(object):
    def __init__(self, port, env, pipeline=PIPELINES[0]):
        self.port, self.env, self.pipeline = port, env, pipeline
        self.web_node = WEB_NODES[pipeline]

    def health(self):
        status, _, body = http_get(self.port, '/health')
        assert status == 200, status
        return json.loads(body.decode('utf-8'))

    def helper(self, *args):
        """topic_tool.py in its own process group (stop() ends it)."""
        return start([ROS_PYTHON, os.path.join(SUPPORT_DIR, 'topic_tool.py')] + list(args), self.env,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def read_frames(self, target, seconds):
        """[(part headers, payload)] read from ``target`` for ``seconds``."""
        stream = MjpegStream(self.port, target)
        try:
            assert stream.status == 200, (target, stream.status_line, stream.body)
            return stream.read_for(seconds)
        finally:
            stream.close()


@contextlib.contextmanager
def server_launch(listed=(TOPIC,), launch=LAUNCH, **args):
    """server.launch (or ``launch``) with ``args`` under a fresh master, once ``listed`` topics are at /.

    The Launched value's ``log()`` gives roslaunch's output so far."""
    require(shutil.which('roslaunch') and shutil.which('roscore'), 'ROS 1 (roslaunch, roscore) is not installed')
    found = subprocess.run(['rospack', 'find', 'camera_server'], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, universal_newlines=True).stdout.strip()
    require(found, 'the camera_server workspace is not sourced (. tools/setup test)')
    with running_master() as env:
        port = free_port()
        log = tempfile.TemporaryFile()
        command = ['roslaunch', launch, 'server:=builtin', 'port:=%d' % port, 'address:=127.0.0.1']
        process = start(command + ['%s:=%s' % item for item in sorted(args.items())], env,
                        stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, 30)
            for topic in listed:
                wait_until(lambda: topic.encode() in http_get(port, '/')[2], 20, topic + ' listed at /')
            launched = Launched(port, env, args.get('pipeline', PIPELINES[0]))
            launched.launch_pid = process.pid
            # pread: seeking would move roslaunch's write offset too (one shared open file).
            launched.log = lambda: os.pread(log.fileno(), os.fstat(log.fileno()).st_size, 0).decode(
                'utf-8', 'replace')
            yield launched
        finally:
            stop(process)
            log.seek(0)
            sys.stdout.write(log.read()[-4000:].decode('utf-8', 'replace'))  # shown when a test fails
