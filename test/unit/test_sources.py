"""Sources without hardware: the V4L2 path through a fake capture, real generated files."""
import os
import time

import cv2
import numpy as np
import pytest

from camera_server import capture, mjpeg_avi, opencv_sources, sources
from camera_server.image_codec import encode_jpeg
from camera_server.sources import SourceError
from support.frames import make_frame, read_index
from support.video_files import avi_jpeg_chunks, write_video


class FakeCapture(object):
    """Stands in for cv2.VideoCapture on a V4L2 camera; ``frames`` are what read() returns."""

    def __init__(self, target, api=None, opened=True, fourcc='MJPG', size=(640, 480),
                 frames=(), accepts_convert_rgb=True):
        self.target, self.api, self.opened = target, api, opened
        self.props = {cv2.CAP_PROP_FOURCC: cv2.VideoWriter_fourcc(*fourcc),
                      cv2.CAP_PROP_FRAME_WIDTH: size[0], cv2.CAP_PROP_FRAME_HEIGHT: size[1],
                      cv2.CAP_PROP_FPS: 30.0}
        self.frames = list(frames)
        self.accepts_convert_rgb = accepts_convert_rgb
        self.calls = []
        self.released = False

    def isOpened(self):
        return self.opened

    def set(self, prop, value):
        self.calls.append((prop, value))
        if prop == opencv_sources.CAP_PROP_CONVERT_RGB:
            return self.accepts_convert_rgb
        return True

    def get(self, prop):
        return self.props.get(prop, 0)

    def read(self):
        if not self.frames:
            return False, None
        return True, self.frames.pop(0)

    def release(self):
        self.released = True

    def getBackendName(self):
        return 'V4L2'


def factory(**kwargs):
    made = []

    def make(target, api=None):
        capture = FakeCapture(target, api, **kwargs)
        made.append(capture)
        return capture
    make.made = made
    return make


def jpeg_buffer(value=100, size=(64, 48)):
    data = encode_jpeg(np.full((size[1], size[0], 3), value, np.uint8), 90)
    return data, np.frombuffer(data, np.uint8).reshape(1, -1)


def test_v4l2_mjpg_passthrough_hands_over_camera_bytes_untouched():
    data, buffer = jpeg_buffer()
    make = factory(frames=[buffer])
    source = opencv_sources.DeviceSource('/dev/video7', width=1280, height=720, fps=30, capture_factory=make)
    source.open()
    frame = source.read()
    assert frame.jpeg == data and frame.image is None
    capture = make.made[0]
    assert capture.api == opencv_sources.CAP_V4L2
    assert (cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*'MJPG')) in capture.calls
    assert (opencv_sources.CAP_PROP_BUFFERSIZE, 1) in capture.calls
    assert (cv2.CAP_PROP_FRAME_WIDTH, 1280) in capture.calls
    assert (opencv_sources.CAP_PROP_CONVERT_RGB, 0) in capture.calls
    assert 'MJPG' in source.description and 'jpeg passthrough' in source.description


def test_v4l2_opencv_that_decodes_anyway_is_detected():
    image = np.full((48, 64, 3), 7, np.uint8)
    source = opencv_sources.DeviceSource('/dev/video7', capture_factory=factory(frames=[image, image]))
    source.open()
    frame = source.read()
    assert frame.jpeg is None and frame.image is image
    assert 'passthrough unavailable' in source.description
    assert source.read().image is image


def test_v4l2_refused_fourcc_warns_with_what_it_gave():
    source = opencv_sources.DeviceSource('/dev/video7', width=1280, height=720,
                                  capture_factory=factory(fourcc='YUYV', size=(640, 480)))
    source.open()
    assert any('refused pixel format MJPG and gave YUYV' in w for w in source.warnings), source.warnings
    assert any('gave 640x480 instead of the requested 1280x720' in w for w in source.warnings)
    assert not source.passthrough


def test_v4l2_missing_device_and_read_failure_are_source_errors():
    source = opencv_sources.DeviceSource('/dev/video-missing', capture_factory=factory(opened=False))
    with pytest.raises(SourceError) as error:
        source.open()
    assert 'no camera at /dev/video-missing' in str(error.value)
    source = opencv_sources.DeviceSource(3, capture_factory=factory(frames=[]))
    source.open()
    with pytest.raises(SourceError) as error:
        source.read()
    assert 'camera 3: read failed' in str(error.value)


def test_make_source_picks_by_device():
    config = dict(width=0, height=0, fps=0.0, fourcc='MJPG', loop=True, camera_name='camera')
    # A video file goes to the AVI reader, which hands any file but an MJPG AVI to OpenCV (test_mjpeg_avi).
    kinds = {'test': sources.TestPatternSource, 0: opencv_sources.DeviceSource,
             '/dev/video2': opencv_sources.DeviceSource, 'http://127.0.0.1:1/x': opencv_sources.StreamURLSource,
             'rtsp://127.0.0.1/x': opencv_sources.StreamURLSource, '/tmp/a.JPG': sources.ImageFileSource,
             '/tmp/a.avi': mjpeg_avi.MjpegAviSource, '/tmp/a.mp4': mjpeg_avi.MjpegAviSource}
    for device, kind in kinds.items():
        config['device'] = device
        assert type(capture.make_source(config)) is kind, device


def test_test_pattern_changes_every_frame_at_its_rate():
    unpaced = sources.TestPatternSource(320, 240, 100000)  # what drawing 16 frames costs on this machine
    unpaced.open()
    start = time.time()
    for _ in range(16):
        unpaced.read()
    drawing = time.time() - start
    source = sources.TestPatternSource(320, 240, 30)
    source.open()
    start = time.time()
    frames = [source.read() for _ in range(16)]
    elapsed = time.time() - start
    assert frames[0].image.shape == (240, 320, 3)
    for before, after in zip(frames, frames[1:]):
        assert np.any(before.image != after.image), 'two consecutive test frames are identical'
        assert after.stamp > before.stamp
    # Paced to 15 periods (0.5 s), unless drawing alone takes longer on this machine.
    assert 0.4 <= elapsed <= 1.3 * max(15 / 30.0, drawing) + 0.1, \
        '16 frames at 30 fps took %.3f s (drawing them alone %.3f s)' % (elapsed, drawing)


def test_mjpg_file_passthrough_bytes_equal_the_file(tmp_path):
    path = str(tmp_path / 'clip.avi')
    write_video(path, 6)
    chunks = avi_jpeg_chunks(path)
    assert len(chunks) == 6
    source = opencv_sources.VideoFileSource(path, fps=1000, loop=False)
    source.open()
    got = [source.read() for _ in range(6)]
    assert [f.jpeg for f in got] == chunks
    assert [read_index(f.pixels()) for f in got] == list(range(6))
    assert source.read() is None


def test_lossless_file_pixels_and_loop(tmp_path):
    path = str(tmp_path / 'clip.avi')
    frames = write_video(path, 4, fourcc='FFV1')
    source = opencv_sources.VideoFileSource(path, fps=1000, loop=True)
    source.open()
    got = [source.read().image for _ in range(9)]
    for i, image in enumerate(got):
        assert np.array_equal(image, frames[i % 4]), 'frame %d differs from the file' % i


def test_removed_file_fails_at_loop_with_clear_message(tmp_path):
    path = str(tmp_path / 'clip.avi')
    write_video(path, 2)
    source = opencv_sources.VideoFileSource(path, fps=1000, loop=True)
    source.open()
    source.read(), source.read()
    os.rename(path, path + '.away')
    with pytest.raises(SourceError) as error:
        source.read()
    assert 'does not exist' in str(error.value) and path in str(error.value)


def test_file_resize_keeps_aspect_and_disables_passthrough(tmp_path):
    path = str(tmp_path / 'clip.avi')
    write_video(path, 1)
    source = opencv_sources.VideoFileSource(path, width=160, fps=1000)
    source.open()
    frame = source.read()
    assert frame.jpeg is None and frame.image.shape == (120, 160, 3)


def test_still_jpeg_is_passed_through_png_is_decoded(tmp_path):
    data, _ = jpeg_buffer(size=(40, 30))
    jpeg_path = tmp_path / 'still.jpg'
    jpeg_path.write_bytes(data)
    source = sources.ImageFileSource(str(jpeg_path), fps=1000)
    source.open()
    assert source.read().jpeg == data
    png_path = str(tmp_path / 'still.png')
    cv2.imwrite(png_path, np.full((30, 40, 3), 9, np.uint8))
    source = sources.ImageFileSource(png_path, fps=1000)
    source.open()
    assert source.read().image.shape == (30, 40, 3)
    with pytest.raises(SourceError):
        sources.ImageFileSource(str(tmp_path / 'none.png')).open()


def test_empty_still_image_is_a_source_error(tmp_path):
    """An image file caught while being written (still empty): OpenCV 4 raised out of the thread."""
    for name in ('empty.png', 'empty.jpg'):
        (tmp_path / name).write_bytes(b'')
        with pytest.raises(SourceError, match='is not an image'):
            sources.ImageFileSource(str(tmp_path / name)).open()


def test_http_mjpeg_stream_url_is_read(tmp_path):
    """An http:// MJPEG stream (the multipart framing web servers use), served on loopback."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Stream(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header('Content-type', 'multipart/x-mixed-replace;boundary=frame')
            self.end_headers()
            try:
                for index in range(60):
                    data = encode_jpeg(make_frame(index), 90)
                    self.wfile.write(b'--frame\r\nContent-type: image/jpeg\r\nContent-Length: %d\r\n\r\n'
                                     % len(data) + data + b'\r\n')
                    time.sleep(0.02)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = HTTPServer(('127.0.0.1', 0), Stream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = opencv_sources.StreamURLSource('http://127.0.0.1:%d/stream' % server.server_port)
        source.open()
        indices = [read_index(source.read().pixels()) for _ in range(5)]
        source.close()
    finally:
        server.shutdown()
    assert indices == sorted(indices) and len(set(indices)) == 5, indices


def test_file_requested_at_its_own_size_keeps_passthrough(tmp_path):
    path = str(tmp_path / 'clip.avi')
    write_video(path, 2)
    chunks = avi_jpeg_chunks(path)
    for size in ((320, 240), (320, 0), (0, 240)):
        source = opencv_sources.VideoFileSource(path, width=size[0], height=size[1], fps=1000, loop=False)
        source.open()
        assert source.read().jpeg == chunks[0], 'no passthrough for a request of %dx%d' % size
