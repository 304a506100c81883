"""The capture thread: drains a source continuously and hands each frame on as it arrives.

Each frame goes to ``on_frame`` in this thread, with no queue in between: a frame is never
handed out twice, and one captured before a failure cannot come out after it. While
``on_frame`` works, the source keeps only its newest frame (a V4L2 camera with one buffer,
a paced file), so a slow consumer skips frames instead of falling behind. Failures are
reported once, retried every ``reconnect_interval`` seconds, and the recovery is reported
once too. A damaged frame (sources.BadFrame, from the source or from a decode in
``on_frame``) is skipped and counted; each kind of damage is said once, and so is the first
good frame after it.
"""
import logging
import os
import threading
import time

from camera_server.image_codec import convert_bgr, encode_jpeg
from camera_server.mjpeg_avi import MjpegAviSource
from camera_server.sources import BadFrame, ImageFileSource, SourceError, TestPatternSource

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')
URL_SCHEMES = ('http://', 'https://', 'rtsp://')


def make_source(config, capture_factory=None, clock=time.time):
    """The source ``config['device']`` names (see capture_params.parse_device).

    ``capture_factory`` replaces cv2.VideoCapture (tests); OpenCV is imported only for the
    sources that read through it (cameras, streams, video files other than MJPG AVI).
    """
    device = config['device']
    size = dict(width=config['width'], height=config['height'], fps=config['fps'])
    if device == 'test':
        return TestPatternSource(name=config['camera_name'], clock=clock, **size)
    opencv = dict(size, clock=clock, **({'capture_factory': capture_factory} if capture_factory else {}))
    if isinstance(device, int) or device.startswith('/dev/'):
        from camera_server.opencv_sources import DeviceSource
        return DeviceSource(device, fourcc=config['fourcc'], **opencv)
    if device.lower().startswith(URL_SCHEMES):
        from camera_server.opencv_sources import StreamURLSource
        return StreamURLSource(device, **opencv)
    path = os.path.expanduser(device)
    if device.lower().endswith(IMAGE_EXTENSIONS):
        return ImageFileSource(path, clock=clock, **size)

    def opencv_file():
        from camera_server.opencv_sources import VideoFileSource
        return VideoFileSource(path, loop=config['loop'], **opencv)
    return MjpegAviSource(path, loop=config['loop'], clock=clock, opencv_source=opencv_file, **size)


class CaptureThread(threading.Thread):
    """Reads ``source`` into ``on_frame(frame)`` until ``stop()``; reopens it after any failure.

    ``log`` has ``info``/``warning`` methods (the node passes a rospy adapter).
    """

    def __init__(self, source, on_frame, reconnect_interval=1.0, log=None):
        threading.Thread.__init__(self, name='camera-capture')
        self.daemon = True
        self.source = source
        self.on_frame = on_frame
        self.reconnect_interval = reconnect_interval
        self.log = log or logging.getLogger('camera_server')
        self.stopping = threading.Event()
        self.frames_read = 0
        self.failures = 0
        self.last_problem = None
        self.bad_frames = 0
        self.bad_streak = 0  # bad frames since the last good one
        self.bad_said = set()  # kinds of damage already logged
        self.bad_streak_said = False
        self.ever_opened = False
        self.opened = threading.Event()

    def stop(self):
        self.stopping.set()

    def run(self):
        try:
            while not self.stopping.is_set():
                if not self.opened.is_set() and not self.try_open():
                    self.stopping.wait(self.reconnect_interval)
                    continue
                if not self.read_once():
                    break
        finally:
            self.source.close()

    def try_open(self):
        try:
            self.source.open()
        except SourceError as error:
            self.report_problem(str(error))
            return False
        except Exception as error:  # a library's own error must not end the thread: retried like the rest
            self.source.close()
            self.report_problem('cannot open %s: %s: %s' % (self.source.description, type(error).__name__, error))
            return False
        if not self.ever_opened:
            self.log.info('opened %s' % self.source.description)
            for warning in getattr(self.source, 'warnings', ()):
                self.log.warning(warning)
        self.ever_opened = True
        self.opened.set()
        return True

    def read_once(self):
        """Reads one frame; False when the source has ended for good."""
        try:
            frame = self.source.read()
        except SourceError as error:
            self.opened.clear()
            self.source.close()
            self.report_problem(str(error))
            self.stopping.wait(self.reconnect_interval)
            return True
        except BadFrame as error:
            self.report_bad_frame(str(error))
            return True
        if frame is None:
            self.log.info('end of %s; not looping (~loop is false)' % self.source.description)
            return False
        if self.last_problem is not None:
            # Said once, and only when frames really flow again.
            self.log.info('camera is back after %d failed attempt(s): %s'
                          % (self.failures, self.source.description))
            self.last_problem = None
            self.failures = 0
        self.frames_read += 1
        try:
            self.on_frame(frame)
        except BadFrame as error:
            self.report_bad_frame(str(error))
            return True
        if self.bad_streak:
            if self.bad_streak_said:
                self.log.info('good frames again after %d bad frame(s) from %s'
                              % (self.bad_streak, self.source.description))
            self.bad_streak = 0
            self.bad_streak_said = False
        return True

    def report_bad_frame(self, problem):
        """Counts a skipped frame; logs each kind of damage once, whatever the frame rate."""
        self.bad_frames += 1
        self.bad_streak += 1
        kind = problem.partition(' (')[0]  # the details in parentheses vary from frame to frame
        if kind not in self.bad_said:
            self.bad_said.add(kind)
            self.bad_streak_said = True
            self.log.warning('skipping a bad frame from %s: %s; bad frames are counted in the '
                             'statistics line, each kind is logged once' % (self.source.description, problem))

    def report_problem(self, problem):
        """Logs a problem once (again only when it changes), then retries quietly."""
        self.failures += 1
        if problem != self.last_problem:
            self.log.warning('%s; retrying every %g s until it works'
                             % (problem, self.reconnect_interval))
        self.last_problem = problem


class FrameRenderer(object):
    """Turns a CapturedFrame into what the subscribers asked for, and nothing more.

    ``render`` returns (image in ``encoding`` or None, JPEG bytes or None, JPEG format);
    counters say how often it had to decode and encode, for the statistics line.
    """

    def __init__(self, encoding, jpeg_quality):
        self.encoding = encoding
        self.jpeg_quality = jpeg_quality
        self.decoded = 0
        self.encoded = 0

    def render(self, frame, want_raw, want_jpeg):
        image = jpeg = jpeg_format = None
        if want_raw or (want_jpeg and frame.jpeg is None):
            if frame.image is None:
                self.decoded += 1
            pixels = frame.pixels()
            if pixels is None:
                raise BadFrame('a JPEG frame that does not decode')
            if want_raw:
                image = convert_bgr(pixels, self.encoding)
        if want_jpeg:
            if frame.jpeg is not None:
                jpeg, jpeg_format = frame.jpeg, 'jpeg'
            else:
                self.encoded += 1
                source_encoding = 'mono8' if frame.image.ndim == 2 else 'bgr8'
                jpeg = encode_jpeg(frame.image, self.jpeg_quality)
                # image_transport's compressed plugin names encoded frames this way.
                jpeg_format = '%s; jpeg compressed %s' % (source_encoding, source_encoding)
        return image, jpeg, jpeg_format
