"""Frame sources behind one interface: ``open()``, ``read()``, ``close()``, ``description``.

``read()`` returns a Frame, returns None at the end of a non-looping file, and raises
SourceError when the source failed (missing, unplugged, read error); the capture thread
then closes it and reopens it later. It raises BadFrame for one damaged frame (a truncated
or garbage JPEG) of a source that goes on: the capture thread skips and counts it. No
rospy here.

Compressed passthrough: when a source delivers JPEG already (a V4L2 camera in MJPG, an
MJPG video file, a JPEG still image), the Frame carries those bytes in ``jpeg`` and no
decoded ``image``; decoding happens only if somebody needs raw pixels. OpenCV hands the
bytes over with CAP_PROP_CONVERT_RGB=0 (V4L2) or CAP_PROP_FORMAT=-1 (FFmpeg, 4.x), but
not every version does, so what comes back is checked, never assumed. An MJPEG file or
stream is read as JPEG bytes even when it must be resized: every frame's bytes are then
checked before use (image_codec.jpeg_problem), where FFmpeg's own decoder would conceal
the damage and hand over pixels with grey or smeared parts.
"""
import os
import time
import zlib

import cv2
import numpy as np

from camera_server.compat import string_types
from camera_server.geometry import fit_size
from camera_server.image_codec import decode_jpeg, is_jpeg, jpeg_problem

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')
URL_SCHEMES = ('http://', 'https://', 'rtsp://')
# FOURCCs OpenCV reports for Motion JPEG: AVI files say MJPG, FFmpeg's HTTP MJPEG demuxer 'mjpe(g)'.
MJPEG_CODECS = ('MJPG', 'MJPEG', 'MJPE', 'JPEG')
STILL_IMAGE_DEFAULT_FPS = 10.0
TEST_PATTERN_DEFAULT = (640, 480, 30.0)

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


class SourceError(RuntimeError):
    """A source that cannot deliver frames now; the message says which and why."""


class BadFrame(ValueError):
    """One damaged frame from a source that otherwise goes on; the message says what is wrong."""


class Frame(object):
    """One captured frame: a BGR/mono ``image`` and/or the source's own ``jpeg`` bytes.

    ``stamp`` is the wall-clock capture time in seconds.
    """
    __slots__ = ('image', 'jpeg', 'stamp')

    def __init__(self, image, jpeg, stamp):
        self.image = image
        self.jpeg = jpeg
        self.stamp = stamp

    def pixels(self):
        """The decoded image, decoding the JPEG once on first use."""
        if self.image is None and self.jpeg is not None:
            self.image = decode_jpeg(self.jpeg)
        return self.image


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


class Pacer(object):
    """Sleeps so that calls to ``wait()`` happen at ``fps``; never bunches up after a stall."""

    def __init__(self, fps, clock=time.time, sleep=time.sleep):
        self.period = 1.0 / fps if fps > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_time = None

    def wait(self):
        if not self.period:
            return
        now = self.clock()
        if self.next_time is None or now - self.next_time > self.period:
            self.next_time = now
        elif self.next_time > now:
            self.sleep(self.next_time - now)
        self.next_time += self.period


def name_colour(name):
    """The BGR colour of the test pattern's name strip: a hue from a hash of ``name``, so that
    several cameras' streams differ in colour as well as in the name written on them."""
    hue = (zlib.crc32(name.encode('utf-8')) & 0xFFFFFFFF) % 180
    return tuple(int(v) for v in cv2.cvtColor(np.uint8([[[hue, 255, 255]]]), cv2.COLOR_HSV2BGR)[0, 0])


class TestPatternSource(object):
    """Colour bars with a moving block, the frame counter and the time, and a bottom strip in
    ``name_colour(name)`` with the camera's name on it: needs no hardware."""

    def __init__(self, width=0, height=0, fps=0.0, name='camera', clock=time.time):
        self.width = width or TEST_PATTERN_DEFAULT[0]
        self.height = height or TEST_PATTERN_DEFAULT[1]
        self.fps = fps or TEST_PATTERN_DEFAULT[2]
        self.name = name
        self.clock = clock
        self.pacer = Pacer(self.fps, clock)
        self.description = 'test pattern %r, bgr8, %dx%d at %g fps' % (
            str(name), self.width, self.height, self.fps)
        self.bars = None
        self.count = 0

    def open(self):
        colours = [(255, 255, 255), (0, 255, 255), (255, 255, 0), (0, 255, 0),
                   (255, 0, 255), (0, 0, 255), (255, 0, 0), (0, 0, 0)]  # BGR
        edges = np.linspace(0, self.width, len(colours) + 1).astype(int)
        self.bars = np.zeros((self.height, self.width, 3), np.uint8)
        for colour, left, right in zip(colours, edges[:-1], edges[1:]):
            self.bars[:, left:right] = colour
        scale = self.text_scale()
        band = int(40 * scale)
        self.bars[self.height - band:] = name_colour(self.name)
        cv2.putText(self.bars, self.name, (8, self.height - int(10 * scale)), cv2.FONT_HERSHEY_SIMPLEX,
                    scale, (0, 0, 0), max(1, int(2 * scale)))

    def text_scale(self):
        return max(0.4, self.height / 480.0)

    def read(self):
        self.pacer.wait()
        stamp = self.clock()
        image = self.bars.copy()
        block = max(8, self.height // 8)
        x = (self.count * 4) % max(1, self.width - block)
        image[self.height - 2 * block:self.height - block, x:x + block] = (128, 128, 128)
        scale = self.text_scale()
        label = '#%d  %s.%03d' % (self.count, time.strftime('%H:%M:%S', time.localtime(stamp)),
                                  int(stamp * 1000) % 1000)
        band = int(40 * scale)
        image[:band] = 0
        cv2.putText(image, label, (8, int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), max(1, int(2 * scale)))
        self.count += 1
        return Frame(image, None, stamp)

    def close(self):
        self.bars = None


class ImageFileSource(object):
    """A still image published repeatedly at ``fps``; a JPEG file is passed through as is."""

    def __init__(self, path, width=0, height=0, fps=0.0, clock=time.time):
        self.path = path
        self.size = (width, height)
        self.fps = fps or STILL_IMAGE_DEFAULT_FPS
        self.clock = clock
        self.pacer = Pacer(self.fps, clock)
        self.description = 'still image %s' % path
        self.image = self.jpeg = None

    def open(self):
        try:
            with open(self.path, 'rb') as image_file:
                data = image_file.read()
        except (IOError, OSError) as error:
            raise SourceError('cannot read image file %s: %s' % (self.path, error.strerror or error))
        # OpenCV decodes a truncated JPEG with a grey remainder: refuse it instead.
        problem = jpeg_problem(data) if is_jpeg(data) else None
        image = None if problem else cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise SourceError('%s is not an image OpenCV can decode%s'
                              % (self.path, ': %s' % problem if problem else ''))
        image, resized = resize_to(image, self.size)
        self.image = image
        self.jpeg = data if is_jpeg(data) and not resized else None
        self.description = 'still image %s, %s, %dx%d at %g fps' % (
            self.path, 'jpeg passthrough' if self.jpeg else 'bgr8',
            image.shape[1], image.shape[0], self.fps)

    def read(self):
        self.pacer.wait()
        return Frame(None if self.jpeg else self.image, self.jpeg, self.clock())

    def close(self):
        self.image = self.jpeg = None


def resize_to(image, size):
    """(image resized to ``size`` as geometry.fit_size() says, whether it was resized)."""
    src_h, src_w = image.shape[:2]
    width, height = fit_size(src_w, src_h, size[0], size[1])
    if (width, height) == (src_w, src_h):
        return image, False
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), True


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
        """A Frame of what OpenCV read: a row of compressed bytes or decoded pixels."""
        packet = data.ndim == 1 or (data.ndim == 2 and data.shape[0] == 1)
        if not packet:
            if self.packets:
                # This OpenCV decoded after all: stop asking.
                self.packets = self.passthrough = False
                self.description += ' (passthrough unavailable: OpenCV decodes)'
            if data.ndim == 3 and data.shape[2] == 1:
                data = data[:, :, 0]
            image, _ = resize_to(data, self.resize)
            return Frame(image, None, stamp)
        jpeg = data.tobytes()
        problem = jpeg_problem(jpeg)
        if problem:
            raise BadFrame(problem)
        if self.passthrough:
            return Frame(None, jpeg, stamp)
        image = decode_jpeg(jpeg)
        if image is None:
            raise BadFrame('a JPEG frame that does not decode')
        image, _ = resize_to(image, self.resize)
        return Frame(image, None, stamp)

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


def make_source(config, capture_factory=cv2.VideoCapture, clock=time.time):
    """The source ``config['device']`` names (see params.parse_device)."""
    device = config['device']
    size = dict(width=config['width'], height=config['height'], fps=config['fps'])
    if device == 'test':
        return TestPatternSource(name=config['camera_name'], clock=clock, **size)
    if isinstance(device, int) or device.startswith('/dev/'):
        return DeviceSource(device, fourcc=config['fourcc'], capture_factory=capture_factory,
                            clock=clock, **size)
    if device.lower().startswith(URL_SCHEMES):
        return StreamURLSource(device, capture_factory=capture_factory, clock=clock, **size)
    if device.lower().endswith(IMAGE_EXTENSIONS):
        return ImageFileSource(os.path.expanduser(device), clock=clock, **size)
    return VideoFileSource(os.path.expanduser(device), loop=config['loop'],
                           capture_factory=capture_factory, clock=clock, **size)
