"""OpenCV is imported only where it is needed: an MJPG file captured and forwarded to HTTP
viewers (plain mjpeg, ros_compressed, a snapshot) never loads cv2; a resized stream does.

Each case runs in a fresh interpreter (this one has cv2 loaded by the tests): the capture
thread reads a generated MJPG AVI into the real web server's fan-out, a client reads
frames over HTTP, and the process reports whether cv2 was imported.
"""
import json
import os
import subprocess
import sys

import pytest

from support import REPO
from support.video_files import write_video

PIPELINE = r'''
import json, sys, threading, time
from camera_server import capture, capture_params
from camera_server.messages import COMPRESSED_TYPE, IMAGE_TYPE, CompressedMessage
from camera_server.web_params import DEFAULT_CONFIG
from camera_server.web_server import CameraWebServer
from support.stream_client import MjpegStream, http_get

callbacks = []

class Subscription(object):
    def unregister(self):
        callbacks[:] = []

    def get_num_connections(self):
        return 1

def subscribe(topic, msg_type, callback):
    callbacks.append(callback)
    return Subscription()

def deliver(frame):
    for callback in list(callbacks):
        callback(CompressedMessage(frame.stamp, 'jpeg', frame.jpeg))

topics = {'/cam/image_raw': IMAGE_TYPE, '/cam/image_raw/compressed': COMPRESSED_TYPE}
server = CameraWebServer(('127.0.0.1', 0), DEFAULT_CONFIG, lambda: topics, subscribe)
server.start()
source = capture.make_source(dict(capture_params.CAPTURE_DEFAULTS, device=sys.argv[1]))
thread = capture.CaptureThread(source, deliver)
thread.start()
frames = {}
for query in sys.argv[2:]:
    stream = MjpegStream(server.port, '/stream?topic=/cam/image_raw&' + query)
    frames[query] = len(stream.read_for(1.0))
    stream.close()
frames['snapshot'] = len(http_get(server.port, '/snapshot?topic=/cam/image_raw')[2])
thread.stop()
server.stop()
print(json.dumps({'frames': frames, 'cv2': 'cv2' in sys.modules}))
'''


def run_pipeline(video, queries):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(REPO, 'src'), os.path.join(REPO, 'test')]))
    result = subprocess.run([sys.executable, '-c', PIPELINE, video] + queries, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, timeout=60)
    assert result.returncode == 0, result.stderr.decode()[-3000:]
    return json.loads(result.stdout.decode().splitlines()[-1])


@pytest.fixture(scope='module')
def video(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('opencv_free') / 'clip.avi')
    write_video(path, 30, fps=30.0)
    return path


def test_forwarding_an_mjpg_file_never_imports_opencv(video):
    report = run_pipeline(video, ['type=mjpeg', 'type=ros_compressed'])
    assert min(report['frames'].values()) > 5 and not report['cv2'], report


def test_a_resized_stream_does(video):
    """The same check, seen to fail when the path needs OpenCV (cv2.resize). 200 of the clip's 320
    columns: 1/2, 1/4 or 1/8 would come out of TurboJPEG's scaled decode with no resize at all."""
    report = run_pipeline(video, ['width=200'])
    assert report['frames']['width=200'] > 5 and report['cv2'], report
