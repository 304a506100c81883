"""Frames become H.264, VP8 or VP9 in an ``ffmpeg`` subprocess; no rospy, no sockets.

Why a subprocess: PyAV exists for Python 2.7 only up to 6.x and needs FFmpeg >= 4 from
7.0, so Melodic (FFmpeg 3.4) has none; the ``ffmpeg`` command of every distribution has
libx264 and libvpx, keeps their licence outside this process, and uses its own threads.

Frames go in as raw I420 on stdin (OpenCV converts BGR with SIMD; half the bytes of
bgr24). What comes out is FLV for H.264 and IVF for VP8/VP9 (ffmpeg_output.py says why;
both exist in FFmpeg 3.4 and 5.1 alike). Each frame's container time gives the index of
the input frame it came from, and with it the capture stamp. A reader thread per encoder
parses the output and calls ``on_frame``.
"""
import os
import subprocess
import tempfile
import threading
from collections import namedtuple

from camera_server.ffmpeg_output import in_band_avcc, read_flv, read_ivf
from camera_server.ffmpeg_probe import HARDWARE_H264
from camera_server.image_codec import opencv

# One encoded frame: ``data`` is an MP4 sample (H.264, length-prefixed NAL units) or a VP8/VP9 frame.
VideoSample = namedtuple('VideoSample', 'stamp data keyframe')

STDERR_TAIL = 400  # characters of ffmpeg's stderr quoted when it fails


class EncoderError(RuntimeError):
    """ffmpeg could not start or stopped; the message says why (its last stderr line)."""


def codec_options(codec, encoder, settings, fps):
    """ffmpeg output options for ``settings`` (url_api.VideoSettings with a resolved bitrate and gop)."""
    rate = ['-b:v', str(settings.bitrate), '-maxrate', str(settings.bitrate), '-bufsize', str(settings.bitrate)]
    gop = ['-g', str(settings.gop), '-keyint_min', str(settings.gop)]
    if encoder == HARDWARE_H264:
        return ['-c:v', encoder, '-b:v', str(settings.bitrate), '-g', str(settings.gop), '-bf', '0']
    quant = []
    if settings.qmin is not None:
        quant += ['-qmin', str(settings.qmin)]
    if settings.qmax is not None:
        quant += ['-qmax', str(settings.qmax)]
    if codec == 'h264':
        # No B-frames, no lookahead, no scene-cut keyframes (the interval is exactly gop); one
        # thread per slice keeps zerolatency's frame-by-frame output.
        return (['-c:v', encoder, '-preset', settings.preset, '-tune', 'zerolatency', '-bf', '0',
                 '-sc_threshold', '0'] + gop + rate + quant)
    # One thread: with -threads 2 on this loaded 2-core machine, VP8 at 1280x720 fell ten times
    # further behind (median 692 ms against 69 ms from stamp to frame): its threads wait on each other.
    options = ['-c:v', encoder, '-deadline', settings.deadline, '-lag-in-frames', '0',
               '-error-resilient', '1', '-auto-alt-ref', '0', '-threads', '1'] + gop + rate + quant
    if settings.deadline == 'realtime':
        # the fastest realtime setting of each (VP8 goes to 16, VP9 to 8 in FFmpeg 3.4)
        options += ['-cpu-used', '16' if codec == 'vp8' else '8']
    return options


def ffmpeg_command(ffmpeg, codec, encoder, width, height, fps, settings):
    """The full command line: I420 frames of width x height at fps on stdin, FLV or IVF on stdout."""
    container = 'flv' if codec == 'h264' else 'ivf'
    return ([ffmpeg, '-hide_banner', '-nostdin', '-loglevel', 'error',
             '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', '%dx%d' % (width, height),
             '-framerate', str(fps), '-probesize', '32', '-analyzeduration', '0', '-i', 'pipe:0', '-an']
            + codec_options(codec, encoder, settings, fps)
            + ['-pix_fmt', 'yuv420p', '-flush_packets', '1', '-f', container, 'pipe:1'])


def i420(img):
    """Planar YUV 4:2:0 bytes of a BGR (or mono) image with even sides."""
    cv2 = opencv()
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420).tobytes()


def even_size(img):
    """``img`` cropped to even sides (4:2:0 needs them): at most one row and column go."""
    height, width = img.shape[:2]
    if height % 2 or width % 2:
        img = img[:max(2, height & ~1), :max(2, width & ~1)]
    return img


class FfmpegEncoder(object):
    """One running ffmpeg: encode() feeds it, its reader thread calls ``on_frame(self, VideoSample)``.

    For H.264, ``avcc`` (the avcC record) is known by the first frame. ``on_exit(self, reason)``
    is called once when ffmpeg ends without close(). Not thread-safe: one thread calls encode().
    """

    def __init__(self, ffmpeg, codec, encoder, width, height, fps, settings, on_frame, on_exit, name):
        self.codec, self.encoder, self.width, self.height, self.fps = codec, encoder, width, height, fps
        self.avcc = None
        self._on_frame, self._on_exit = on_frame, on_exit
        self._stamps = {}  # input frame index -> capture stamp, until its output frame arrives
        self._stamps_lock = threading.Lock()
        self._count = 0
        self._closing = False
        self._stderr = tempfile.TemporaryFile()
        command = ffmpeg_command(ffmpeg, codec, encoder, width, height, fps, settings)
        try:
            self._proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self._stderr, bufsize=0)
        except OSError as err:
            self._stderr.close()
            raise EncoderError('cannot run %s: %s' % (ffmpeg, err))
        self.pid = self._proc.pid
        self._thread = threading.Thread(target=self._read, name='%s reader' % name)
        self._thread.daemon = True
        self._thread.start()

    def encode(self, img, stamp):
        """Feeds one image (even sides, this encoder's size); raises EncoderError when ffmpeg is gone."""
        with self._stamps_lock:
            self._stamps[self._count] = stamp
        self._count += 1
        try:
            self._proc.stdin.write(i420(img))
        except (IOError, OSError, ValueError) as err:  # EPIPE: ffmpeg exited; ValueError: closed
            raise EncoderError('ffmpeg stopped taking frames: %s' % err)

    def close(self):
        """Stops ffmpeg and its reader (no on_exit call)."""
        self._closing = True
        try:
            self._proc.stdin.close()
        except (IOError, OSError):
            pass
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        if threading.current_thread() is not self._thread:
            self._thread.join(2.0)

    def failure(self):
        """Why ffmpeg stopped: its exit code and the end of its stderr."""
        code = self._proc.poll()
        try:
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - STDERR_TAIL))
            text = self._stderr.read().decode('utf-8', 'replace')
        except (ValueError, OSError, IOError):  # closed by the reader thread meanwhile
            text = ''
        lines = [line for line in text.splitlines() if line.strip()]
        return '%s exited with code %s%s' % (self.encoder, code, (': ' + lines[-1]) if lines else '')

    def _stamp_of(self, seconds):
        index = int(round(seconds * self.fps))
        with self._stamps_lock:
            stamp = self._stamps.pop(index, None)
            for old in [i for i in self._stamps if i < index]:
                del self._stamps[old]  # frames the encoder dropped
        return stamp

    def _read(self):
        try:
            if self.codec == 'h264':
                read_flv(self._proc.stdout, self._set_avcc, self._emit)
            else:
                read_ivf(self._proc.stdout, self.codec, self._emit)
        except Exception as err:  # a malformed stream ends this encoder like a crash would
            self._closing or self._stderr.write(('\nunreadable encoder output: %s\n' % err).encode('utf-8'))
        finally:
            self._proc.stdout.close()
            if not self._closing:
                self._proc.wait()
                self._on_exit(self, self.failure())
            self._stderr.close()

    def _set_avcc(self, record):
        self.avcc = record

    def _emit(self, seconds, data, keyframe):
        if self.codec == 'h264' and self.avcc is None:
            self.avcc = in_band_avcc(data)  # the encoder gave no sequence header: from SPS/PPS in the frame
        stamp = self._stamp_of(seconds)
        if stamp is not None:
            self._on_frame(self, VideoSample(stamp, data, keyframe))
