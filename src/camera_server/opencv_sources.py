"""The sources OpenCV's VideoCapture reads: a V4L2 camera, a video file, a network stream.

Each may hand over the camera's or file's own JPEG bytes (passthrough; sources.py says how
that is checked) or decoded pixels, and each reports what it opened in one line. No rospy here.
"""
import os
import time

import cv2

from camera_server.compat import string_types
from camera_server.geometry import fit_size
from camera_server.image_codec import decode_jpeg, jpeg_problem
from camera_server.sources import BadFrame, CapturedFrame, Pacer, SourceError, resize_to

# FOURCCs OpenCV reports for Motion JPEG: AVI files say MJPG, FFmpeg's HTTP MJPEG demuxer 'mjpe(g)'.
MJPEG_CODECS = ('MJPG', 'MJPEG', 'MJPE', 'JPEG')
# OpenCV 3.2 (Melodic's python-opencv) lacks some names: fall back to their numbers.
CAP_V4L2 = getattr(cv2, 'CAP_V4L2', 200)
CAP_FFMPEG = getattr(cv2, 'CAP_FFMPEG', 1900)
CAP_PROP_BUFFERSIZE = getattr(cv2, 'CAP_PROP_BUFFERSIZE', 38)
CAP_PROP_CONVERT_RGB = getattr(cv2, 'CAP_PROP_CONVERT_RGB', 16)
CAP_PROP_FORMAT = getattr(cv2, 'CAP_PROP_FORMAT', 8)
# OpenCV 4.5.2+: FFmpeg gives up on a stream that sends nothing for this long (else 30 s),
# so a stalled network source is reported and reopened within seconds.
CAP_PROP_OPEN_TIMEOUT_MSEC = getattr(cv2, 'CAP_PROP_OPEN_TIMEOUT_MSEC', None)
CAP_PROP_READ_TIMEOUT_MSEC = getattr(cv2, 'CAP_PROP_READ_TIMEOUT_MSEC', None)
STREAM_TIMEOUT_S = 5.0


def fourcc_text(code):
    code = int(code)
    return ''.join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip('\x00')


def open_video_capture(factory, target, api, open_params=()):
    """A VideoCapture for ``target`` with backend ``api`` (and ``open_params``, a flat list
    of property, value pairs, where this OpenCV takes them), also on OpenCV builds without
    the (target, api) constructor."""
    if open_params:
        try:
            return factory(target, api, list(open_params))
        except TypeError:
            pass
    try:
        return factory(target, api)
    except TypeError:
        return factory(target)


class OpenCVSource(object):
    """Shared by the device, video-file and URL sources: an OpenCV VideoCapture whose frames
    may come back as JPEG bytes (passthrough) or as decoded pixels."""

    api = CAP_FFMPEG
    kind = 'source'
    open_params = ()

    def __init__(self, target, width=0, height=0, fps=0.0, capture_factory=cv2.VideoCapture,
                 clock=time.time):
        self.target = target
        self.size = (width, height)
        # Files and streams are resized in software; a camera is asked for its size instead.
        self.resize = self.size
        self.fps = fps
        self.capture_factory = capture_factory
        self.clock = clock
        self.capture = None
        self.packets = False  # OpenCV hands over each frame's JPEG bytes
        self.passthrough = False  # ... and they can be published as they are (no resize)
        self.description = '%s %s' % (self.kind, target)

    def open(self):
        self.close()
        capture = open_video_capture(self.capture_factory, self.target, self.api, self.open_params)
        if not capture.isOpened():
            capture.release()
            raise SourceError(self.open_failure())
        self.capture = capture
        self.configure(capture)

    def open_failure(self):
        return 'cannot open %s %s' % (self.kind, self.target)

    def configure(self, capture):
        """Called once after opening; subclasses set formats and passthrough here."""

    def grab_frame(self):
        ok, data = self.capture.read()
        if not ok or data is None:
            raise SourceError('%s %s: read failed' % (self.kind, self.target))
        return data

    def read(self):
        data = self.grab_frame()
        if data is None:
            return None
        return self.to_frame(data, self.clock())

    def to_frame(self, data, stamp):
        """A CapturedFrame of what OpenCV read: a row of compressed bytes or decoded pixels."""
        packet = data.ndim == 1 or (data.ndim == 2 and data.shape[0] == 1)
        if not packet:
            if self.packets:
                # This OpenCV decoded after all: stop asking.
                self.packets = self.passthrough = False
                self.description += ' (passthrough unavailable: OpenCV decodes)'
            if data.ndim == 3 and data.shape[2] == 1:
                data = data[:, :, 0]
            image, _ = resize_to(data, self.resize)
            return CapturedFrame(image, None, stamp)
        jpeg = data.tobytes()
        problem = jpeg_problem(jpeg)
        if problem:
            raise BadFrame(problem)
        if self.passthrough:
            return CapturedFrame(None, jpeg, stamp)
        image = decode_jpeg(jpeg)
        if image is None:
            raise BadFrame('a JPEG frame that does not decode')
        image, _ = resize_to(image, self.resize)
        return CapturedFrame(image, None, stamp)

    def try_passthrough(self, capture, prop, value):
        """Ask OpenCV for undecoded frames (checked again on read); they pass through as they
        are when no resize is needed, and are decoded here otherwise."""
        native = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        self.packets = bool(capture.set(prop, value))
        # A requested size equal to the source's needs no resize, so the JPEG can pass.
        self.passthrough = self.packets and fit_size(native[0], native[1], *self.resize) == native

    def close(self):
        if self.capture is not None:
            self.capture.release()
            self.capture = None

    def frame_info(self, capture, pixel_format):
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = capture.get(cv2.CAP_PROP_FPS)
        return '%s %s, backend %s, pixel format %s%s, %dx%d at %g fps' % (
            self.kind, self.target, self.backend_name(capture), pixel_format,
            ' (jpeg passthrough)' if self.passthrough else ' (decoded to bgr8)',
            width, height, fps)

    @staticmethod
    def backend_name(capture):
        try:
            return capture.getBackendName()
        except (AttributeError, cv2.error):
            return 'OpenCV'


class DeviceSource(OpenCVSource):
    """A V4L2 camera by path or index, asked for ``fourcc`` (MJPG by default so that 720p30
    fits through USB 2) with one driver buffer so frames are never queued stale."""

    api = CAP_V4L2
    kind = 'camera'

    def __init__(self, target, width=0, height=0, fps=0.0, fourcc='MJPG', **kwargs):
        OpenCVSource.__init__(self, target, width, height, fps, **kwargs)
        self.resize = (0, 0)
        self.fourcc = fourcc
        self.warnings = []

    def open_failure(self):
        if isinstance(self.target, string_types) and not os.path.exists(self.target):
            return 'no camera at %s (the device does not exist)' % self.target
        return 'cannot open camera %s (busy, no permission, or not a capture device)' % (self.target,)

    def configure(self, capture):
        self.warnings = []
        if self.fourcc:
            capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*self.fourcc))
        if self.size[0]:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.size[0])
        if self.size[1]:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.size[1])
        if self.fps:
            capture.set(cv2.CAP_PROP_FPS, self.fps)
        capture.set(CAP_PROP_BUFFERSIZE, 1)
        got_fourcc = fourcc_text(capture.get(cv2.CAP_PROP_FOURCC))
        if self.fourcc and got_fourcc != self.fourcc:
            self.warnings.append('camera %s refused pixel format %s and gave %s instead%s' % (
                self.target, self.fourcc, got_fourcc or 'an unknown format',
                '; at high resolutions raw formats may not fit through USB 2'
                if self.fourcc == 'MJPG' else ''))
        got_w = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        got_h = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if any(self.size) and (self.size[0] or got_w, self.size[1] or got_h) != (got_w, got_h):
            self.warnings.append('camera %s gave %dx%d instead of the requested %dx%d' % (
                self.target, got_w, got_h, self.size[0] or got_w, self.size[1] or got_h))
        self.packets = self.passthrough = False
        if got_fourcc == 'MJPG':
            self.try_passthrough(capture, CAP_PROP_CONVERT_RGB, 0)
        self.description = self.frame_info(capture, got_fourcc or '?')


class VideoFileSource(OpenCVSource):
    """A video file played at its own frame rate (or ``fps``), looped when ``loop``."""

    kind = 'video file'

    def __init__(self, target, width=0, height=0, fps=0.0, loop=True, **kwargs):
        OpenCVSource.__init__(self, target, width, height, fps, **kwargs)
        self.loop = loop
        self.pacer = None

    def open_failure(self):
        if not os.path.exists(self.target):
            return 'video file %s does not exist' % self.target
        return 'cannot open video file %s (not a video OpenCV can read)' % self.target

    def configure(self, capture):
        file_fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        if self.pacer is None:
            self.pacer = Pacer(self.fps or file_fps, self.clock)
        codec = fourcc_text(capture.get(cv2.CAP_PROP_FOURCC))
        self.packets = self.passthrough = False
        if codec.upper() in MJPEG_CODECS:
            self.try_passthrough(capture, CAP_PROP_FORMAT, -1)
        self.description = self.frame_info(capture, codec or '?')

    def grab_frame(self):
        self.pacer.wait()
        ok, data = self.capture.read()
        if ok and data is not None:
            return data
        if not self.loop:
            return None
        # End of file: reopen, which also notices a file that was removed meanwhile.
        self.open()
        return OpenCVSource.grab_frame(self)


class StreamURLSource(OpenCVSource):
    """A network stream (http://, https://, rtsp://), read as fast as it delivers."""

    kind = 'stream'
    open_params = tuple(() if CAP_PROP_READ_TIMEOUT_MSEC is None else (
        CAP_PROP_OPEN_TIMEOUT_MSEC, int(STREAM_TIMEOUT_S * 1000),
        CAP_PROP_READ_TIMEOUT_MSEC, int(STREAM_TIMEOUT_S * 1000)))

    def configure(self, capture):
        codec = fourcc_text(capture.get(cv2.CAP_PROP_FOURCC))
        self.packets = self.passthrough = False
        if codec.upper() in MJPEG_CODECS:
            self.try_passthrough(capture, CAP_PROP_FORMAT, -1)
        self.description = self.frame_info(capture, codec or '?')
