"""Several cameras on one robot, launched for real: cameras.launch with two test patterns and a
missing camera under one web server, and server.launch camera:=NAME.

The test pattern writes the camera's name on a strip of ``sources.name_colour(name)``, so each
decoded stream is told apart by its content.
"""
import os
import re
import shutil
import subprocess
import threading
import time

import numpy as np
import pytest

from camera_server.sources import name_colour
from support import REPO
from support.ci import require
from support.ros_master import free_port
from support.stream_client import http_get
from support.web_checks import decode, mean_diff, server_launch

LAUNCH_DIR = os.path.join(REPO, 'launch')
SIZES = {'front': (640, 480), 'side': (320, 240)}  # name -> size of its test pattern
MISSING = '/dev/camera-server-absent'
CAMERAS = 'front=test side=test:320x240 rear=%s' % MISSING


def strip_colour(image):
    """Mean BGR of the right half of the name strip (the name is written at its left)."""
    height, width = image.shape[:2]
    band = int(40 * max(0.4, height / 480.0))
    return image[height - band + 3:height - 3, width // 2:width - 4].reshape(-1, 3).mean(axis=0)


@pytest.fixture(scope='module')
def several():
    with server_launch(listed=('/front/image_raw', '/side/image_raw', '/rear/image_raw'),
                       launch=os.path.join(LAUNCH_DIR, 'cameras.launch'), cameras=CAMERAS,
                       stats_interval='1.0', reconnect_interval='0.5') as launched:
        yield launched


def test_each_stream_is_its_own_camera(several):
    frames = {}

    def read(name):
        frames[name] = several.read_frames('/stream?topic=/%s/image_raw&quality=90' % name, 3.0)
    readers = [threading.Thread(target=read, args=(name,)) for name in SIZES]
    for reader in readers:
        reader.start()
    time.sleep(2.0)
    health = several.health()
    for reader in readers:
        reader.join(20)
    rates = dict((t['topic'], t['input_fps']) for t in health['topics'])
    for name, (width, height) in SIZES.items():
        images = [decode(payload) for _, payload in frames[name]]
        fps = rates.get('/%s/image_raw' % name, 0.0)
        # The rate over the frames' own capture stamps: the 3 s of reading also hold the
        # subscription's start, which is not the stream's rate.
        stamps = [float(part['x-timestamp']) for part, _ in frames[name]]
        received = (len(stamps) - 1) / max(stamps[-1] - stamps[0], 1e-3) if len(stamps) > 1 else 0.0
        assert fps > 0 and received >= 0.8 * fps and len(images) >= fps, \
            '%s: %d frames in 3 s, %.1f fps over their stamps, its input %.1f fps (%s)' % (
                name, len(images), received, fps, rates)
        assert images[0].shape == (height, width, 3), '%s: %s' % (name, images[0].shape)
        colour = strip_colour(images[-1])
        for other in SIZES:
            distance = float(np.abs(colour - np.array(name_colour(other))).max())
            if other == name:
                assert distance < 25, '%s strip %s, its colour %s' % (name, colour, name_colour(name))
            else:
                assert distance > 100, '%s strip %s is close to %s colour %s' % (
                    name, colour, other, name_colour(other))
        change = mean_diff(images[0], images[-1])
        assert change > 0.5, '%s: first and last frame differ by only %.2f' % (name, change)


def test_missing_camera_is_retried_alone(several):
    """The missing camera warns once and keeps retrying; the others stream; each node has its own statistics."""
    time.sleep(3.0)  # several reconnect intervals and statistics lines
    # Never published: 503 "no signal" once it counts as stale (~stale_after), 504 before; never
    # a picture (the liveness placeholder that reaches a waiting snapshot is not one either).
    status, _, body = http_get(several.port, '/snapshot?topic=/rear/image_raw', timeout=10)
    assert status in (503, 504) and b'/rear/image_raw' in body, (status, body[:200])
    status, _, body = http_get(several.port, '/snapshot?topic=/front/image_raw')
    assert status == 200 and decode(body).shape == (480, 640, 3), status
    log = several.log()
    warnings = [line for line in log.splitlines() if 'no camera at %s' % MISSING in line]
    assert len(warnings) == 1, 'warnings about the missing camera: %s' % warnings
    for name, rate in (('front', r'[1-9]\d*\.\d'), ('side', r'[1-9]\d*\.\d'), ('rear', r'0\.0')):
        stats = [line for line in log.splitlines() if 'statistics:' in line and '(/%s)' % name in line]
        assert stats, 'no statistics line of /%s in:\n%s' % (name, log[-3000:])
        assert re.search(r'statistics: %s fps published' % rate, stats[-1]), stats[-1]


def test_camera_argument_names_node_and_topics():
    with server_launch(listed=('/front/image_raw',), camera='front', device='test') as launched:
        status, _, body = http_get(launched.port, '/snapshot?topic=/front/image_raw')
        assert status == 200, status
        image = decode(body)
        colour = strip_colour(image)
        assert float(np.abs(colour - np.array(name_colour('front'))).max()) < 25, colour
        page = http_get(launched.port, '/')[2].decode('utf-8')
        assert '/camera/image_raw' not in page, page


def dump_params(launch, *args):
    """The parameters roslaunch would set for ``launch`` with ``args``, parsed, nothing started."""
    require(shutil.which('roslaunch'), 'ROS 1 (roslaunch) is not installed')
    done = subprocess.run(['roslaunch', '--dump-params', os.path.join(LAUNCH_DIR, launch)] + list(args),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
    assert done.returncode == 0, done.stdout
    params = dict(line.split(': ', 1) for line in done.stdout.splitlines() if line.startswith('/'))
    assert params, done.stdout
    return params


def test_camera_list_entries():
    """NAME=DEVICE[:WIDTHxHEIGHT]: a URL with a port, a camera index, sizes per entry or shared."""
    got = dump_params('server.launch', 'cameras:=front=/dev/video0 rear=/dev/video2:640x480 '
                      'ip=rtsp://127.0.0.1:8554/cam usb=1', 'width:=320', 'fps:=15')
    expected = {'/front/device': '/dev/video0', '/front/width': '320', '/front/height': '0',
                '/rear/device': '/dev/video2', '/rear/width': '640', '/rear/height': '480',
                '/ip/device': 'rtsp://127.0.0.1:8554/cam', '/ip/width': '320',
                '/usb/device': '1', '/rear/frame_id': 'rear', '/rear/camera_name': 'rear', '/ip/fps': '15'}
    for key, value in expected.items():
        assert got.get(key) == value, '%s: %r (expected %r)' % (key, got.get(key), value)
    assert not [key for key in got if key.startswith('/camera/')], 'a /camera node besides the list'
    single = dump_params('server.launch')
    assert single['/camera/device'] == '/dev/video0' and single['/camera/frame_id'] == 'camera', single


def test_malformed_camera_entry_is_named():
    require(shutil.which('roslaunch'), 'ROS 1 (roslaunch) is not installed')
    # roslaunch itself (--dump-params exits 0 on errors); it stops while reading the files,
    # before it would start a master or a node.
    env = dict(os.environ, ROS_MASTER_URI='http://127.0.0.1:%d' % free_port())
    done = subprocess.run(['roslaunch', os.path.join(LAUNCH_DIR, 'server.launch'), 'cameras:=front=test /dev/video2'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=60,
                          env=env)
    assert done.returncode != 0 and 'each entry is NAME=DEVICE[:WIDTHxHEIGHT], not /dev/video2' in done.stdout, (
        done.returncode, done.stdout)
