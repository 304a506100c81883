"""Frame sources behind one interface: ``open()``, ``read()``, ``close()``, ``description``.

``read()`` returns a CapturedFrame, returns None at the end of a non-looping file, and raises
SourceError when the source failed (missing, unplugged, read error); the capture thread
then closes it and reopens it later. It raises BadFrame for one damaged frame (a truncated
or garbage JPEG) of a source that goes on: the capture thread skips and counts it. No
rospy here.

Compressed passthrough: when a source delivers JPEG already (a V4L2 camera in MJPG, an
MJPG video file, a JPEG still image), the CapturedFrame carries those bytes in ``jpeg`` and no
decoded ``image``; decoding happens only if somebody needs raw pixels. OpenCV hands the
bytes over with CAP_PROP_CONVERT_RGB=0 (V4L2) or CAP_PROP_FORMAT=-1 (FFmpeg, 4.x), but
not every version does, so what comes back is checked, never assumed. An MJPEG file or
stream is read as JPEG bytes even when it must be resized: every frame's bytes are then
checked before use (image_codec.jpeg_problem), where FFmpeg's own decoder would conceal
the damage and hand over pixels with grey or smeared parts.
"""
import time
import zlib

import numpy as np

from camera_server.geometry import fit_size
from camera_server.image_codec import decode_jpeg, is_jpeg, jpeg_problem, opencv

STILL_IMAGE_DEFAULT_FPS = 10.0
TEST_PATTERN_DEFAULT = (640, 480, 30.0)


class SourceError(RuntimeError):
    """A source that cannot deliver frames now; the message says which and why."""


class BadFrame(ValueError):
    """One damaged frame from a source that otherwise goes on; the message says what is wrong."""


class CapturedFrame(object):
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
    cv2 = opencv()
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
        cv2 = opencv()
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
        cv2 = opencv()
        cv2.putText(image, label, (8, int(30 * scale)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), max(1, int(2 * scale)))
        self.count += 1
        return CapturedFrame(image, None, stamp)

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
        image = None if problem else decode_jpeg(data)
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
        return CapturedFrame(None if self.jpeg else self.image, self.jpeg, self.clock())

    def close(self):
        self.image = self.jpeg = None


def resize_to(image, size):
    """(image resized to ``size`` as geometry.fit_size() says, whether it was resized)."""
    src_h, src_w = image.shape[:2]
    width, height = fit_size(src_w, src_h, size[0], size[1])
    if (width, height) == (src_w, src_h):
        return image, False
    cv2 = opencv()
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), True
