"""The Docker tests' rig: the stand-in bases, images built with docker/Makefile, and containers.

The engine (.ci/docker_engine.sh) runs with --bridge=none, so builds and containers use
--network host; every container gets its own ROS master port and web port on 127.0.0.1.
Locally a missing engine or base is a skip; with CI=true it is a failure (require()).
"""
import os
import re
import shutil
import subprocess
import time
import uuid

import cv2
import numpy as np
import pytest

from support import REPO
from support.ci import require
from support.ros_master import free_port
from support.stream_client import MjpegStream, http_get
from support.waits import poll

BASE_IMAGE = os.environ.get('CAMERA_SERVER_BASE_IMAGE', 'camera-server-base:debian')
TEST_IMAGE = os.environ.get('CAMERA_SERVER_TEST_IMAGE', 'camera-server:test')
BUILD_TIMEOUT_S = 900  # a fresh stand-in base takes about 2 minutes, the image itself seconds
# A test's time limit: a module's first test may build the stand-in base and then the image.
IMAGE_TEST_TIMEOUT_S = 2 * BUILD_TIMEOUT_S + 600
START_DEADLINE_S = 30.0  # roslaunch, master, both nodes and the first frame
HEALTHY_DEADLINE_S = 30.0
STOP_GRACE_S = 10  # docker stop's SIGKILL after SIGTERM; roslaunch must end before it by itself
CAMERA_LISTING = b'/stream?topic=/camera/image_raw'  # the topic list page once the camera is advertised
DOCKER_ENV = dict(os.environ, DOCKER_BUILDKIT='0')  # the classic builder reports the context size


def docker(*args, **kwargs):
    """CompletedProcess of `docker ARGS` with text output; never raises on a non-zero exit."""
    return subprocess.run(['docker'] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=DOCKER_ENV, universal_newlines=True, timeout=kwargs.get('timeout', 120))


def require_engine():
    require(shutil.which('docker') is not None, 'no docker client (run .ci/docker_engine.sh)')
    require(docker('info').returncode == 0, 'no Docker engine answers (run .ci/docker_engine.sh)')


def stand_in_base(arch_args=(), image=BASE_IMAGE, timeout=BUILD_TIMEOUT_S):
    """Name of the stand-in base built (or found up to date) by .ci/docker_base.sh ARCH_ARGS IMAGE."""
    base = subprocess.run(['bash', os.path.join(REPO, '.ci', 'docker_base.sh')] + list(arch_args) + [image],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=timeout)
    require(base.returncode == 0, 'stand-in base %s could not be built: %s' % (image, base.stdout[-2000:]))
    return image


def make_image(target, name, base, timeout=BUILD_TIMEOUT_S, make_args=()):
    """Seconds `make -C docker TARGET NAME=name BASE_IMAGE=base MAKE_ARGS` took; fails with its output."""
    start = time.time()
    build = subprocess.run(['make', '--no-print-directory', '-C', os.path.join(REPO, 'docker'), target,
                            'NAME=' + name, 'BASE_IMAGE=' + base, 'DOCKER_BUILD_ARGS=--network host'] + list(make_args),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                           env=DOCKER_ENV, timeout=timeout)
    assert build.returncode == 0, 'make %s failed:\n%s' % (target, build.stdout[-4000:])
    took = time.time() - start
    print('make %s: %s built in %.1f s' % (target, name, took))
    context = re.search(r'Sending build context to Docker daemon\s+([\d.]+)([kMG]?B)', build.stdout)
    if context:  # .dockerignore keeps .git, caches and benchmark output out
        size = float(context.group(1)) * {'B': 1e-6, 'kB': 1e-3, 'MB': 1, 'GB': 1e3}[context.group(2)]
        assert size < 5, 'build context is %.1f MB' % size
    return took


@pytest.fixture(scope='module')
def image():
    """The camera_server image built with `make -C docker build` on the stand-in base."""
    require_engine()
    make_image('build', TEST_IMAGE, stand_in_base())
    return TEST_IMAGE


class Container(object):
    """One `docker run -d --network host` of the image, with its own ROS master and web port.
    The deadlines are attributes: the arm64 tests set them from an amd64 run."""

    def __init__(self, image, launch_args=(), docker_args=(), master_port=None):
        self.name = 'camera-server-test-%s' % uuid.uuid4().hex[:8]
        self.port = free_port()
        self.start_deadline_s = START_DEADLINE_S
        self.healthy_deadline_s = HEALTHY_DEADLINE_S
        master_port = master_port or free_port()  # roslaunch starts a master there unless one runs
        run = docker('run', '-d', '--name', self.name, '--network', 'host',
                     '-e', 'ROS_MASTER_URI=http://127.0.0.1:%d' % master_port, '-e', 'ROS_IP=127.0.0.1',
                     '--health-interval=1s', *(list(docker_args) + [image, 'port:=%d' % self.port] + list(launch_args)))
        assert run.returncode == 0, 'docker run failed: %s' % run.stdout
        self.started = time.time()

    @classmethod
    def existing(cls, name, port):
        """A container started by other means (make install), for the same waits and checks."""
        container = cls.__new__(cls)
        container.name, container.port, container.started = name, port, time.time()
        container.start_deadline_s, container.healthy_deadline_s = START_DEADLINE_S, HEALTHY_DEADLINE_S
        return container

    def state(self, field):
        return docker('inspect', '-f', '{{%s}}' % field, self.name).stdout.strip()

    def logs(self):
        return docker('logs', self.name).stdout

    def wait_for_page(self, listing=b'ROS Image Topic List', nodes=2):
        """Seconds until GET / answers 200 with ``listing`` in the page (the web server can be up
        before the camera topic is advertised); fails with the log when the deadline passes.
        The deadline grows with the ``nodes`` roslaunch starts (each a Python start-up)."""
        deadline = self.started + self.start_deadline_s * nodes / 2.0

        def listed():
            try:
                status, _, page = http_get(self.port, '/', timeout=2.0)
                if status == 200 and listing in page:
                    return True
            except (OSError, AssertionError):
                pass
            assert self.state('.State.Running') == 'true', 'container ended:\n%s' % self.logs()
            return False
        if not poll(listed, deadline - time.time(), interval=0.2):
            pytest.fail('GET / on port %d did not answer 200 listing %r within %.0f s:\n%s'
                        % (self.port, listing, deadline - self.started, self.logs()))
        return time.time() - self.started

    def wait_healthy(self):
        remaining = self.started + self.healthy_deadline_s - time.time()
        if not poll(lambda: self.state('.State.Health.Status') == 'healthy', remaining, interval=0.2):
            pytest.fail('health %r after %.0f s: %s' % (self.state('.State.Health.Status'), self.healthy_deadline_s,
                                                         self.state('json .State.Health')))
        return time.time() - self.started

    def stop(self, grace_s=STOP_GRACE_S):
        """Seconds `docker stop` took; fails when roslaunch (PID 1) did not end by itself on
        SIGTERM within ``grace_s`` (Docker's SIGKILL then gives exit code 137)."""
        start = time.time()
        result = docker('stop', '-t', str(int(grace_s)), self.name, timeout=grace_s + 30)
        assert result.returncode == 0, result.stdout
        took = time.time() - start
        code = self.state('.State.ExitCode')
        # Not a time on this machine's clock: whether roslaunch ended by itself before Docker's
        # own SIGKILL at the end of the grace (exit code 137).
        assert code != '137', 'docker stop had to kill the container after %.1f s: roslaunch did not end within ' \
            'the %d s grace:\n%s' % (took, grace_s, self.logs()[-2000:])
        assert 'Traceback' not in self.logs(), 'traceback at shutdown:\n%s' % self.logs()[-3000:]
        print('docker stop took %.2f s, exit code %s' % (took, code))
        return took

    def remove(self):
        docker('rm', '-f', self.name)


@pytest.fixture
def containers(image):
    """Starts containers (of the image, unless told another); removes every one of them afterwards."""
    started = []

    def run(launch_args=(), docker_args=(), of=None, master_port=None):
        started.append(Container(of or image, launch_args, docker_args, master_port))
        return started[-1]

    yield run
    for container in started:
        container.remove()


def read_frames(port, count, topic='/camera/image_raw', timeout=START_DEADLINE_S):
    """``count`` decoded frames of /stream?topic=``topic``."""
    stream = MjpegStream(port, '/stream?topic=' + topic, timeout=timeout)
    try:
        assert stream.status == 200, 'stream answered %r: %r' % (stream.status_line, stream.body)
        frames = []
        for _ in range(count):
            headers, payload = stream.read_frame()
            assert headers['content-type'] == 'image/jpeg', headers
            frames.append(cv2.imdecode(np.frombuffer(payload, np.uint8), cv2.IMREAD_COLOR))
            assert frames[-1] is not None, 'frame %d does not decode (%d bytes)' % (len(frames), len(payload))
        return frames
    finally:
        stream.close()
