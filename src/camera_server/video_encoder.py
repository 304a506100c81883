"""Frames become H.264, VP8 or VP9 in an ``ffmpeg`` subprocess; no rospy, no sockets.

Why a subprocess: PyAV exists for Python 2.7 only up to 6.x and needs FFmpeg >= 4 from
7.0, so Melodic (FFmpeg 3.4) has none; the ``ffmpeg`` command of every distribution has
libx264 and libvpx, keeps their licence outside this process, and uses its own threads.

Frames go in as raw I420 on stdin (OpenCV converts BGR with SIMD; half the bytes of
bgr24). What comes out must be split into frames the moment each one is encoded, so the
output container carries a length per frame: FLV for H.264 (its tags are sized, its
sequence header is the avcC record, its frames are length-prefixed NAL units: exactly an
MP4 sample) and IVF for VP8/VP9. An Annex-B stream would only show a frame's end when the
next one starts, one frame late. Both formats exist in FFmpeg 3.4 and 5.1 alike. Each
frame's container time gives the index of the input frame it came from, and with it the
capture stamp. A reader thread per encoder parses the output and calls ``on_frame``.
"""
import os
import struct
import subprocess
import tempfile
import threading
from collections import namedtuple

import cv2

from camera_server import fmp4
from camera_server.compat import byte_at

# One encoded frame: ``data`` is an MP4 sample (H.264, length-prefixed NAL units) or a VP8/VP9 frame.
EncodedFrame = namedtuple('EncodedFrame', 'stamp data keyframe')

ENCODERS = {'vp8': 'libvpx', 'vp9': 'libvpx-vp9'}  # h264: libx264 or h264_v4l2m2m, see choose_h264_encoder
HARDWARE_H264 = 'h264_v4l2m2m'
H264_ENCODER_CHOICES = ('auto', 'v4l2m2m', 'libx264')  # ~h264_encoder
MISSING_FFMPEG = 'ffmpeg'  # the package that provides the command, on Debian and Ubuntu alike
STDERR_TAIL = 400  # characters of ffmpeg's stderr quoted when it fails


class EncoderError(RuntimeError):
    """ffmpeg could not start or stopped; the message says why (its last stderr line)."""


def find_executable(name):
    """The path of command ``name`` (or ``name`` itself when it is a path that runs), or None."""
    if os.sep in name:
        return name if os.access(name, os.X_OK) else None
    for folder in os.environ.get('PATH', os.defpath).split(os.pathsep):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _run(command):
    """(exit code, output text) of a short ffmpeg run."""
    proc = subprocess.Popen(command, stdin=open(os.devnull, 'rb'), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    output = proc.communicate()[0]
    return proc.returncode, output.decode('utf-8', 'replace')


_PROBES = {}  # (probe, ffmpeg path) -> result: every server of a process (the tests') asks once
_PROBES_LOCK = threading.Lock()


def _once(probe):
    """``probe(ffmpeg)`` run once per ffmpeg path in this process."""
    def cached(ffmpeg):
        with _PROBES_LOCK:
            key = (probe.__name__, ffmpeg)
            if key not in _PROBES:
                _PROBES[key] = probe(ffmpeg)
            return _PROBES[key]
    cached.__doc__ = probe.__doc__
    return cached


@_once
def available_encoders(ffmpeg):
    """The names ``ffmpeg -encoders`` lists."""
    _, text = _run([ffmpeg, '-hide_banner', '-encoders'])
    names = set()
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and len(fields[0]) == 6 and fields[0][0] == 'V':
            names.add(fields[1])
    return names


@_once
def hardware_h264_works(ffmpeg):
    """(True, '') when h264_v4l2m2m encodes a few frames here, else (False, why)."""
    code, text = _run([ffmpeg, '-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i',
                       'testsrc=size=320x240:rate=30', '-frames:v', '5', '-pix_fmt', 'yuv420p',
                       '-c:v', HARDWARE_H264, '-f', 'null', '-'])
    lines = [line for line in text.splitlines() if line.strip()]
    return code == 0, (lines[-1] if lines else 'exit code %d' % code)


def choose_h264_encoder(ffmpeg, forced, log):
    """The H.264 encoder for ``~h264_encoder`` = ``forced`` (auto, v4l2m2m, libx264); says why in the log."""
    if forced == 'libx264':
        return 'libx264'
    if HARDWARE_H264 not in available_encoders(ffmpeg):
        if forced == 'v4l2m2m':
            log.warning('h264: ~h264_encoder is v4l2m2m but this ffmpeg has no %s; using libx264' % HARDWARE_H264)
        return 'libx264'
    works, why = hardware_h264_works(ffmpeg)
    if works:
        log.info('h264: using the hardware encoder %s' % HARDWARE_H264)
        return HARDWARE_H264
    log.info('h264: the hardware encoder %s does not work here (%s); using libx264' % (HARDWARE_H264, why))
    return 'libx264'


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
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420).tobytes()


def even_size(img):
    """``img`` cropped to even sides (4:2:0 needs them): at most one row and column go."""
    height, width = img.shape[:2]
    if height % 2 or width % 2:
        img = img[:max(2, height & ~1), :max(2, width & ~1)]
    return img


def split_nal_units(data):
    """The NAL units of an Annex-B byte string (start codes removed)."""
    units, start = [], None
    index = data.find(b'\0\0\1')
    while index >= 0:
        if start is not None:
            units.append(data[start:index].rstrip(b'\0'))
        start = index + 3
        index = data.find(b'\0\0\1', start)
    if start is not None:
        units.append(data[start:])
    return [unit for unit in units if unit]


def length_prefixed_units(sample):
    """The NAL units of an MP4 sample (4-byte lengths)."""
    units, offset = [], 0
    while offset + 4 <= len(sample):
        (size,) = struct.unpack('>I', sample[offset:offset + 4])
        units.append(sample[offset + 4:offset + 4 + size])
        offset += 4 + size
    return units


def _read_exact(stream, size):
    """``size`` bytes from ``stream``, or None at the end of the stream."""
    chunks, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b''.join(chunks)


def vp8_keyframe(frame):
    return not byte_at(frame, 0) & 1


def vp9_keyframe(frame):
    """frame_type of the VP9 uncompressed header (profiles 0-3; show_existing_frame is not a keyframe)."""
    bits = byte_at(frame, 0)
    profile = ((bits >> 5) & 1) | (((bits >> 4) & 1) << 1)
    shift = 3 if profile < 3 else 2  # profile 3 has a reserved bit before show_existing_frame
    if (bits >> shift) & 1:
        return False
    return not (bits >> (shift - 1)) & 1


class FfmpegEncoder(object):
    """One running ffmpeg: encode() feeds it, its reader thread calls ``on_frame(self, EncodedFrame)``.

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
            parse = self._read_flv if self.codec == 'h264' else self._read_ivf
            parse(self._proc.stdout)
        except Exception as err:  # a malformed stream ends this encoder like a crash would
            self._closing or self._stderr.write(('\nunreadable encoder output: %s\n' % err).encode('utf-8'))
        finally:
            self._proc.stdout.close()
            if not self._closing:
                self._proc.wait()
                self._on_exit(self, self.failure())
            self._stderr.close()

    def _emit(self, seconds, data, keyframe):
        stamp = self._stamp_of(seconds)
        if stamp is not None:
            self._on_frame(self, EncodedFrame(stamp, data, keyframe))

    def _read_flv(self, stream):
        if _read_exact(stream, 13) is None:  # FLV header and the first PreviousTagSize
            return
        while True:
            head = _read_exact(stream, 11)
            if head is None:
                return
            size = struct.unpack('>I', b'\0' + head[1:4])[0]
            millis = struct.unpack('>I', head[7:8] + head[4:7])[0]
            body = _read_exact(stream, size + 4)
            if body is None:
                return
            if byte_at(head, 0) != 9 or size < 5 or byte_at(body, 0) & 0x0f != 7:
                continue  # not an AVC video tag (metadata)
            keyframe = byte_at(body, 0) >> 4 == 1
            packet_type, payload = byte_at(body, 1), body[5:size]
            if packet_type == 0:
                if len(payload) > 6:
                    self.avcc = payload
            elif packet_type == 1 and payload:
                self._emit(millis / 1000.0, self._sample(payload), keyframe)

    def _sample(self, payload):
        """The MP4 sample of a frame; learns the avcC from in-band SPS/PPS when the encoder gave none."""
        if payload[:4] == b'\0\0\0\1':  # Annex-B (some hardware encoders): a 1-byte NAL unit is not a thing
            units = split_nal_units(payload)
            payload = b''.join(struct.pack('>I', len(unit)) + unit for unit in units)
        if self.avcc is None:
            units = dict((byte_at(unit, 0) & 0x1f, unit) for unit in length_prefixed_units(payload) if unit)
            if 7 in units and 8 in units:
                self.avcc = fmp4.avc_config(units[7], units[8])
        return payload

    def _read_ivf(self, stream):
        header = _read_exact(stream, 32)
        if header is None:
            return
        denominator, numerator = struct.unpack('<II', header[16:24])
        keyframe_of = vp8_keyframe if self.codec == 'vp8' else vp9_keyframe
        while True:
            head = _read_exact(stream, 12)
            if head is None:
                return
            size, pts = struct.unpack('<IQ', head)
            frame = _read_exact(stream, size)
            if frame is None:
                return
            if frame:
                self._emit(pts * float(numerator) / max(1, denominator), frame, keyframe_of(frame))
