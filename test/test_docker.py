"""docker/Dockerfile built and run for real on the stand-in base (Debian's ROS in a local image).

The engine (.ci/docker_engine.sh) runs with --bridge=none, so builds and containers use
--network host; every container gets its own ROS master port and web port on 127.0.0.1,
so the tests run beside other ROS tests. Each container is removed at the end, also on
failure. Locally a missing engine or base is a skip; with CI=true it is a failure.
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

from camera_server.sources import name_colour
from video_checks import capture, complete_mp4, mp4_boxes, probe_frames, probe_stream, write_temp
from conftest import require
from ros_master import free_port
from stream_client import MjpegStream, http_get
from video_files import read_index, write_video

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE_IMAGE = os.environ.get('CAMERA_SERVER_BASE_IMAGE', 'camera-server-base:debian')
TEST_IMAGE = os.environ.get('CAMERA_SERVER_TEST_IMAGE', 'camera-server:test')
BUILD_TIMEOUT_S = 900  # a fresh stand-in base takes about 2 minutes, the image itself seconds
START_DEADLINE_S = 30.0  # roslaunch, master, both nodes and the first frame
HEALTHY_DEADLINE_S = 30.0
STOP_LIMIT_S = 3.0
CAMERA_LISTING = b'/stream?topic=/camera/image_raw'  # the topic list page once the camera is advertised
DOCKER_ENV = dict(os.environ, DOCKER_BUILDKIT='0')  # the classic builder reports the context size


def docker(*args, **kwargs):
    """CompletedProcess of `docker ARGS` with text output; never raises on a non-zero exit."""
    return subprocess.run(['docker'] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env=DOCKER_ENV, universal_newlines=True, timeout=kwargs.get('timeout', 120))


@pytest.fixture(scope='module')
def image():
    """The camera_server image built with `make -C docker build` on the stand-in base."""
    require(shutil.which('docker') is not None, 'no docker client (run .ci/docker_engine.sh)')
    require(docker('info').returncode == 0, 'no Docker engine answers (run .ci/docker_engine.sh)')
    base = subprocess.run(['bash', os.path.join(REPO, '.ci', 'docker_base.sh'), BASE_IMAGE],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          timeout=BUILD_TIMEOUT_S)
    require(base.returncode == 0, 'stand-in base %s could not be built: %s' % (BASE_IMAGE, base.stdout[-2000:]))
    start = time.time()
    build = subprocess.run(['make', '--no-print-directory', '-C', os.path.join(REPO, 'docker'), 'build',
                            'NAME=' + TEST_IMAGE, 'BASE_IMAGE=' + BASE_IMAGE, 'DOCKER_BUILD_ARGS=--network host'],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                           env=DOCKER_ENV, timeout=BUILD_TIMEOUT_S)
    assert build.returncode == 0, 'make build failed:\n%s' % build.stdout[-4000:]
    print('image %s built in %.1f s' % (TEST_IMAGE, time.time() - start))
    context = re.search(r'Sending build context to Docker daemon\s+([\d.]+)([kMG]?B)', build.stdout)
    if context:  # .dockerignore keeps .git, caches and benchmark output out
        size = float(context.group(1)) * {'B': 1e-6, 'kB': 1e-3, 'MB': 1, 'GB': 1e3}[context.group(2)]
        assert size < 5, 'build context is %.1f MB' % size
    return TEST_IMAGE


class Container(object):
    """One `docker run -d --network host` of the image, with its own ROS master and web port."""

    def __init__(self, image, launch_args=(), docker_args=()):
        self.name = 'camera-server-test-%s' % uuid.uuid4().hex[:8]
        self.port = free_port()
        master_port = free_port()
        run = docker('run', '-d', '--name', self.name, '--network', 'host',
                     '-e', 'ROS_MASTER_URI=http://127.0.0.1:%d' % master_port, '-e', 'ROS_IP=127.0.0.1',
                     '--health-interval=1s', *(list(docker_args) + [image, 'port:=%d' % self.port] + list(launch_args)))
        assert run.returncode == 0, 'docker run failed: %s' % run.stdout
        self.started = time.time()

    def state(self, field):
        return docker('inspect', '-f', '{{%s}}' % field, self.name).stdout.strip()

    def logs(self):
        return docker('logs', self.name).stdout

    def wait_for_page(self, listing=b'ROS Image Topic List', nodes=2):
        """Seconds until GET / answers 200 with ``listing`` in the page (the web server can be up
        before the camera topic is advertised); fails with the log when the deadline passes.
        The deadline grows with the ``nodes`` roslaunch starts (each a Python start-up)."""
        deadline = self.started + START_DEADLINE_S * nodes / 2.0
        while time.time() < deadline:
            try:
                status, _, page = http_get(self.port, '/', timeout=2.0)
                if status == 200 and listing in page:
                    return time.time() - self.started
            except (OSError, AssertionError):
                pass
            assert self.state('.State.Running') == 'true', 'container ended:\n%s' % self.logs()
            time.sleep(0.2)
        pytest.fail('GET / on port %d did not answer 200 listing %r within %.0f s:\n%s'
                    % (self.port, listing, deadline - self.started, self.logs()))

    def wait_healthy(self):
        deadline = self.started + HEALTHY_DEADLINE_S
        status = ''
        while time.time() < deadline:
            status = self.state('.State.Health.Status')
            if status == 'healthy':
                return time.time() - self.started
            time.sleep(0.2)
        pytest.fail('health %r after %.0f s: %s' % (status, HEALTHY_DEADLINE_S, self.state('json .State.Health')))

    def stop(self):
        """Seconds `docker stop` took (it would SIGKILL after 10 s)."""
        start = time.time()
        result = docker('stop', '-t', '10', self.name, timeout=30)
        assert result.returncode == 0, result.stdout
        return time.time() - start

    def remove(self):
        docker('rm', '-f', self.name)


@pytest.fixture
def containers(image):
    """Starts containers of the image; removes every one of them afterwards."""
    started = []

    def run(launch_args=(), docker_args=()):
        started.append(Container(image, launch_args, docker_args))
        return started[-1]

    yield run
    for container in started:
        container.remove()


def read_frames(port, count, topic='/camera/image_raw'):
    """``count`` decoded frames of /stream?topic=``topic``."""
    stream = MjpegStream(port, '/stream?topic=' + topic, timeout=START_DEADLINE_S)
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


def test_test_pattern_streams_turns_healthy_and_stops_at_once(containers):
    # Words after the image name are roslaunch arguments.
    container = containers(['device:=test', 'width:=320', 'height:=240'])
    print('page lists the camera after %.1f s' % container.wait_for_page(CAMERA_LISTING))
    frames = read_frames(container.port, 5)
    for frame in frames:
        assert frame.shape == (240, 320, 3), 'frame shape %s, asked for width:=320 height:=240' % (frame.shape,)
        # The test pattern's first colour bar is white, its last black.
        assert frame[120, 10].min() > 200 and frame[120, 310].max() < 50, (frame[120, 10], frame[120, 310])
    print('healthy after %.1f s' % container.wait_healthy())
    assert 'Traceback' not in container.logs(), container.logs()
    took = container.stop()
    assert took < STOP_LIMIT_S, 'docker stop took %.2f s (limit %.0f s):\n%s' % (took, STOP_LIMIT_S, container.logs()[-2000:])
    print('docker stop took %.2f s' % took)
    assert 'Traceback' not in container.logs(), 'traceback at shutdown:\n%s' % container.logs()[-3000:]


def test_video_file_mounted_as_device_is_streamed(containers, tmp_path):
    video = str(tmp_path / 'clip.avi')
    written = write_video(video, 60, fps=15.0)
    container = containers(['device:=/videos/clip.avi'], ['-v', '%s:/videos/clip.avi:ro' % video])
    container.wait_for_page(CAMERA_LISTING)
    frames = read_frames(container.port, 8)
    indices = [read_index(frame) for frame in frames]
    for frame, index in zip(frames, indices):
        assert frame.shape == written[0].shape, 'frame shape %s, video is %s' % (frame.shape, written[0].shape)
        assert 0 <= index < len(written), 'frame index %d not in the %d-frame video' % (index, len(written))
        error = np.abs(frame.astype(int) - written[index].astype(int)).mean()
        assert error < 8, 'frame %d differs from the video by %.1f per pixel' % (index, error)
    assert len(set(indices)) >= 4, 'the video does not advance: indices %s' % indices
    took = container.stop()
    assert took < STOP_LIMIT_S, 'docker stop took %.2f s' % took


def test_without_a_camera_the_container_stays_up_says_so_and_serves_the_page(containers):
    container = containers()  # no --device: /dev/video0 does not exist in the container
    container.wait_for_page()
    deadline = time.time() + START_DEADLINE_S
    while 'no camera at /dev/video0' not in container.logs():
        assert time.time() < deadline, 'no "no camera" message within %.0f s:\n%s' % (START_DEADLINE_S, container.logs())
        time.sleep(0.2)
    message = [line for line in container.logs().splitlines() if 'no camera at /dev/video0' in line][0]
    assert 'retrying' in message, message
    container.wait_healthy()  # the web page is what the health check asks for
    time.sleep(3.0)  # several reconnect attempts later the container is still up and quiet
    assert container.state('.State.Running') == 'true', container.logs()
    assert container.logs().count('no camera at /dev/video0') == 1, 'repeated message:\n%s' % container.logs()
    status, _, page = http_get(container.port, '/')
    assert status == 200 and b'ROS Image Topic List' in page, (status, page[:300])
    took = container.stop()
    assert took < STOP_LIMIT_S, 'docker stop took %.2f s' % took


def test_container_serves_h264_from_the_builtin_server(containers, tmp_path):
    """The image has ffmpeg and the entrypoint's default server: a valid H.264 stream, one fragment per frame."""
    container = containers(['device:=test', 'width:=320', 'height:=240'])
    container.wait_for_page(CAMERA_LISTING)
    status, headers, body = capture(container.port, '/stream?topic=/camera/image_raw&type=h264&gop=15',
                                    START_DEADLINE_S, lambda data: data.count(b'moof') > 30)
    assert status == 200 and headers['content-type'] == 'video/mp4', (status, headers, body[:300])
    path = write_temp(tmp_path, 'container.mp4', complete_mp4(body))
    stream = probe_stream(path)
    assert (stream['codec_name'], stream['profile'], stream['width'], stream['height'], stream['pix_fmt']) == (
        'h264', 'Constrained Baseline', 320, 240, 'yuv420p'), stream
    frames = probe_frames(path)
    assert len(frames) >= 30 and frames[0][0] == 1, (len(frames), frames[:2])
    assert [b[0] for b in mp4_boxes(complete_mp4(body))].count('moof') == len(frames)
    assert 'built-in' in container.logs() or 'builtin' in container.logs(), container.logs()[-2000:]


def test_healthcheck_fails_when_no_web_server_answers(image):
    """healthcheck.sh alone in a container without a network: nothing listens, so unhealthy."""
    result = docker('run', '--rm', '--network', 'none', '--entrypoint', '/usr/local/bin/healthcheck.sh', image)
    assert result.returncode == 1 and 'no answer on port 8080' in result.stdout, (
        'exit %d: %s' % (result.returncode, result.stdout))


def test_several_cameras_one_container(containers):
    """`docker run ... camera-server cameras:=...`: two test patterns told apart by their name strip,
    and a camera that is not there (no --device) retried on its own."""
    container = containers(['cameras:=front=test rear=test:320x240 side=/dev/video2'])
    print('page lists /rear after %.1f s' % container.wait_for_page(b'/stream?topic=/rear/image_raw', nodes=4))
    for name, shape in (('front', (480, 640, 3)), ('rear', (240, 320, 3))):
        frame = read_frames(container.port, 3, '/%s/image_raw' % name)[-1]
        strip = frame[-int(40 * shape[0] / 480.0) + 3:-3, shape[1] // 2:-4].reshape(-1, 3).mean(axis=0)
        assert frame.shape == shape and np.abs(strip - name_colour(name)).max() < 25, (
            name, frame.shape, strip, name_colour(name))
    deadline = time.time() + START_DEADLINE_S
    while 'no camera at /dev/video2' not in container.logs():
        assert time.time() < deadline, 'no "no camera" message within %.0f s:\n%s' % (START_DEADLINE_S, container.logs())
        time.sleep(0.2)
    took = container.stop()  # roslaunch stops its nodes one after the other: no fixed limit here
    code = container.state('.State.ExitCode')
    assert code != '137', 'docker stop had to kill the container after %.1f s:\n%s' % (took, container.logs()[-2000:])
    print('docker stop of 4 nodes took %.2f s, exit code %s' % (took, code))
