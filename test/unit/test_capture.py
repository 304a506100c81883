"""The capture thread's delivery, reconnect and logging, and the lazy renderer."""
import threading
import time

import numpy as np

from camera_server.capture import CaptureThread, FrameRenderer
from camera_server.handoff import NewestSlot
from camera_server.image_codec import decode_jpeg, encode_jpeg
from camera_server.sources import CapturedFrame, SourceError
from support.logs import RecordingLog
from support.waits import poll, wait_until


class ScriptedSource(object):
    """Fails to open while ``present`` is clear; fails reads while ``unplugged`` is set."""

    description = 'scripted camera'

    def __init__(self):
        self.present = threading.Event()
        self.unplugged = threading.Event()
        self.index = 0

    def open(self):
        if not self.present.is_set():
            raise SourceError('no camera at /dev/video9 (the device does not exist)')

    def read(self):
        time.sleep(0.005)
        if self.unplugged.is_set():
            raise SourceError('camera /dev/video9: read failed')
        self.index += 1
        return CapturedFrame(None, b'\xff\xd8%d' % self.index, time.time())

    def close(self):
        pass


def test_missing_camera_is_reported_once_retried_and_resumes():
    source, slot, log = ScriptedSource(), NewestSlot(), RecordingLog()
    thread = CaptureThread(source, slot.put, reconnect_interval=0.05, log=log)
    thread.start()
    try:
        assert poll(lambda: thread.failures >= 10, 3.0), 'only %d retries' % thread.failures
        assert slot.get(0.05) is None
        assert log.count('warning', 'no camera at /dev/video9') == 1, log.lines
        assert log.count('warning', 'retrying every 0.05 s') == 1
        source.present.set()
        frame = slot.get(2.0)
        assert frame is not None and frame.jpeg.startswith(b'\xff\xd8')
        assert log.count('info', 'camera is back after') == 1, log.lines
    finally:
        thread.stop()
        thread.join(2)
    assert not thread.is_alive()


def test_unplug_mid_stream_logs_once_delivers_nothing_stale_and_resumes():
    source, log = ScriptedSource(), RecordingLog()
    delivered = []  # (delivery time, frame), in the capture thread
    source.present.set()
    thread = CaptureThread(source, lambda frame: delivered.append((time.time(), frame)),
                           reconnect_interval=0.05, log=log)
    thread.start()
    try:
        wait_until(lambda: delivered, 3.0, 'a frame')
        source.unplugged.set()
        wait_until(lambda: thread.failures >= 5, 3.0, 'five failed reads')
        unplugged_at = time.time()
        time.sleep(0.1)
        count = len(delivered)
        assert all(at < unplugged_at for at, _ in delivered), 'delivered during the outage'
        assert log.count('warning', 'read failed') == 1, log.lines
        source.unplugged.clear()
        wait_until(lambda: len(delivered) > count, 3.0, 'a frame after the camera came back')
        after = delivered[count][1]
        assert after.stamp > unplugged_at, 'a frame from before the failure came out after it'
        numbers = [int(frame.jpeg[2:]) for _, frame in delivered]  # the scripted camera's frame counter
        assert numbers == sorted(set(numbers)), numbers
        assert log.count('info', 'camera is back') == 1
    finally:
        thread.stop()
        thread.join(2)


def test_renderer_does_no_work_nobody_asked_for():
    jpeg = encode_jpeg(np.full((24, 32, 3), 200, np.uint8), 90)
    renderer = FrameRenderer('bgr8', 80)
    image, data, fmt = renderer.render(CapturedFrame(None, jpeg, 0.0), want_raw=False, want_jpeg=True)
    assert image is None and data == jpeg and fmt == 'jpeg'
    assert (renderer.decoded, renderer.encoded) == (0, 0)
    renderer.render(CapturedFrame(None, jpeg, 0.0), want_raw=False, want_jpeg=False)
    assert (renderer.decoded, renderer.encoded) == (0, 0)
    image, _, _ = renderer.render(CapturedFrame(None, jpeg, 0.0), want_raw=True, want_jpeg=False)
    assert renderer.decoded == 1 and image.shape == (24, 32, 3)


def test_renderer_encodes_raw_sources_once_and_converts_encoding():
    pixels = np.zeros((24, 32, 3), np.uint8)
    pixels[:, :, 2] = 255  # red in BGR
    renderer = FrameRenderer('rgb8', 90)
    image, data, fmt = renderer.render(CapturedFrame(pixels, None, 0.0), want_raw=True, want_jpeg=True)
    assert tuple(image[0, 0]) == (255, 0, 0), 'rgb8 conversion gave %s' % (image[0, 0],)
    assert fmt == 'bgr8; jpeg compressed bgr8' and renderer.encoded == 1 and renderer.decoded == 0
    assert abs(int(decode_jpeg(data)[0, 0, 2]) - 255) < 8
    mono = FrameRenderer('mono8', 90).render(CapturedFrame(pixels, None, 0.0), True, False)[0]
    assert mono.ndim == 2 and abs(int(mono[0, 0]) - 76) <= 1


class RaisingSource(ScriptedSource):
    """Opens only on the third try; the first two raise what a library may raise (not SourceError)."""

    def __init__(self):
        ScriptedSource.__init__(self)
        self.opens = 0

    def open(self):
        self.opens += 1
        if self.opens < 3:
            raise ValueError('imdecode: buffer is empty')


def test_an_unexpected_error_while_opening_is_reported_once_and_retried():
    source, slot, log = RaisingSource(), NewestSlot(), RecordingLog()
    thread = CaptureThread(source, slot.put, reconnect_interval=0.05, log=log)
    thread.start()
    try:
        frame = slot.get(3.0)
        assert frame is not None and source.opens == 3, (frame, source.opens)
        assert log.count('warning', 'cannot open scripted camera: ValueError: imdecode: buffer is empty') == 1, \
            log.lines
        assert thread.is_alive()
    finally:
        thread.stop()
        thread.join(2)
