"""docker/Dockerfile built and run for real on the stand-in base (Debian's ROS in a local image).

The engine (.ci/docker_engine.sh) runs with --bridge=none, so builds and containers use
--network host; every container gets its own ROS master port and web port on 127.0.0.1,
so the tests run beside other ROS tests. Each container is removed at the end, also on
failure. Locally a missing engine or base is a skip; with CI=true it is a failure.
"""
import os
import subprocess
import time
import uuid

import numpy as np
import pytest

from camera_server.sources import name_colour
from support.docker_rig import (CAMERA_LISTING, IMAGE_TEST_TIMEOUT_S, REPO, Container, START_DEADLINE_S,  # noqa: F401
                                containers, docker, image, read_frames)
from support.ros_master import free_port
from support.stream_client import capture, http_get
from support.video_checks import complete_mp4, mp4_boxes, probe_frames, probe_stream, write_temp
from support.frames import read_index
from support.video_files import write_video
from support.waits import poll

pytestmark = [pytest.mark.docker, pytest.mark.timeout(IMAGE_TEST_TIMEOUT_S)]


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
    container.stop()


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
    container.stop()


def test_without_a_camera_the_container_stays_up_says_so_and_serves_the_page(containers):
    container = containers()  # no --device: /dev/video0 does not exist in the container
    container.wait_for_page()
    assert poll(lambda: 'no camera at /dev/video0' in container.logs(), START_DEADLINE_S, interval=0.2), \
        'no "no camera" message within %.0f s:\n%s' % (START_DEADLINE_S, container.logs())
    message = [line for line in container.logs().splitlines() if 'no camera at /dev/video0' in line][0]
    assert 'retrying' in message, message
    container.wait_healthy()  # the web page is what the health check asks for
    time.sleep(3.0)  # several reconnect attempts later the container is still up and quiet
    assert container.state('.State.Running') == 'true', container.logs()
    assert container.logs().count('no camera at /dev/video0') == 1, 'repeated message:\n%s' % container.logs()
    status, _, page = http_get(container.port, '/')
    assert status == 200 and b'ROS Image Topic List' in page, (status, page[:300])
    container.stop()


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


def test_make_install_starts_the_container_again_when_it_ends(image):
    """`make install`: the container has the unless-stopped policy, so Docker starts it again
    when roslaunch ends (as after a crash or a reboot), and `make uninstall` removes it."""
    name = 'camera-server-test-%s' % uuid.uuid4().hex[:8]
    port, master_port = free_port(), free_port()
    make = ['make', '--no-print-directory', '-C', os.path.join(REPO, 'docker')]
    # The test pattern: no camera here, so DEVICE maps /dev/null (the target always maps one).
    install = subprocess.run(make + ['install', 'NAME=' + name, 'RUN_IMAGE=' + image, 'DEVICE=/dev/null',
                                     'DOCKER_RUN_ARGS=--network host -e ROS_MASTER_URI=http://127.0.0.1:%d '
                                     '-e ROS_IP=127.0.0.1' % master_port,
                                     'ARGS=device:=test width:=160 height:=120 port:=%d' % port],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    try:
        assert install.returncode == 0, install.stdout
        container = Container.existing(name, port)
        policy = container.state('.HostConfig.RestartPolicy.Name')
        assert policy == 'unless-stopped', container.state('json .HostConfig.RestartPolicy')
        container.wait_for_page(CAMERA_LISTING)
        assert read_frames(port, 2)[-1].shape == (120, 160, 3)
        # roslaunch (PID 1) ends as on Ctrl-C; Docker starts the container again at once.
        docker('exec', name, 'kill', '-INT', '1')
        poll(lambda: container.state('.RestartCount') != '0', START_DEADLINE_S, interval=0.2)
        assert container.state('.RestartCount') == '1', 'not restarted within %.0f s: %s' % (
            START_DEADLINE_S, container.state('json .State'))
        container.started = time.time()
        container.wait_for_page(CAMERA_LISTING)
        assert read_frames(port, 2)[-1].shape == (120, 160, 3)
    finally:
        uninstall = subprocess.run(make + ['uninstall', 'NAME=' + name], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    assert uninstall.returncode == 0 and docker('inspect', name).returncode != 0, uninstall.stdout


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
    assert poll(lambda: 'no camera at /dev/video2' in container.logs(), START_DEADLINE_S, interval=0.2), \
        'no "no camera" message within %.0f s:\n%s' % (START_DEADLINE_S, container.logs())
    # Five processes (master, rosout, three nodes) end on SIGTERM, each a Python shutdown:
    # measured 6.8 s at a load of 13 on 2 cores, past Docker's default 10 s at a load of 22.
    # The grace is for a loaded machine; what is checked is that roslaunch ends by itself.
    print('docker stop took %.1f s' % container.stop(grace_s=30))
