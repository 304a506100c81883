"""A video file of Motion JPEG in AVI, read here without OpenCV; any other video file through OpenCV.

An MJPG AVI is a list of JPEG frames in RIFF chunks: walking them costs a few reads per frame,
and the frames go out as they are (passthrough), checked like every other JPEG source
(image_codec.jpeg_problem). Importing OpenCV for that would add about 100 MB of resident
memory (Debian's OpenCV links GDAL, VTK, Poppler, FFmpeg...) to a process that never decodes.
A file that is not an MJPG AVI, or that must be resized, goes to opencv_sources.VideoFileSource
(imported then). Plain AVI and OpenDML (RIFF AVIX continuation, ix## indexes) are both
read in file order, so the index chunks are not needed. No rospy here.
"""
import os
import struct
import time

from camera_server.geometry import fit_size
from camera_server.image_codec import jpeg_problem
from camera_server.sources import BadFrame, CapturedFrame, Pacer, SourceError

CHUNK_HEAD = struct.Struct('<4sI')  # chunk id, payload size (the payload is padded to an even size)
MAIN_HEADER = struct.Struct('<I28xII')  # avih: microseconds per frame ... width, height
STREAM_HEADER = struct.Struct('<4s4s12xII')  # strh: type, handler ... scale, rate
BITMAP_COMPRESSION = struct.Struct('<16x4s')  # strf of a video stream: biCompression
MJPEG_HANDLERS = ('MJPG', 'JPEG')
NESTED = {b'RIFF': (b'AVIX',), b'LIST': (b'movi', b'rec ')}  # lists whose chunks are frames
HEADER_LIMIT = 1 << 20  # the header list of a real AVI is a few kB: more is not an AVI header


class NotMjpegAvi(ValueError):
    """The file is not an AVI of Motion JPEG (it may well be another video: OpenCV reads it)."""


def read_header(stream):
    """(frames per second, (width, height), frame chunk id) of the AVI open in ``stream`` at its start."""
    riff, _ = CHUNK_HEAD.unpack(stream.read(8).ljust(8, b'\0'))
    if riff != b'RIFF' or stream.read(4) != b'AVI ':
        raise NotMjpegAvi('not an AVI file')
    kind, size = CHUNK_HEAD.unpack(stream.read(8).ljust(8, b'\0'))
    if kind != b'LIST' or not 4 < size <= HEADER_LIMIT or stream.read(4) != b'hdrl':
        raise NotMjpegAvi('an AVI file without its header list')
    header = stream.read(size - 4)
    fps, size_found, video = 0.0, None, None
    streams = 0
    for chunk, payload in chunks(header):
        if chunk == b'avih' and len(payload) >= MAIN_HEADER.size:
            period_us, width, height = MAIN_HEADER.unpack_from(payload)
            size_found = (width, height)
            fps = 1e6 / period_us if period_us else 0.0
        elif chunk == b'LIST' and payload[:4] == b'strl':
            parts = dict(chunks(payload[4:]))
            strh, strf = parts.get(b'strh', b''), parts.get(b'strf', b'')
            if video is None and len(strh) >= STREAM_HEADER.size and strh[:4] == b'vids':
                _, handler, scale, rate = STREAM_HEADER.unpack_from(strh)
                compression = BITMAP_COMPRESSION.unpack_from(strf)[0] if len(strf) >= BITMAP_COMPRESSION.size else b''
                codecs = [code.decode('latin-1').upper() for code in (handler, compression)]
                if not any(code in MJPEG_HANDLERS for code in codecs):
                    raise NotMjpegAvi('an AVI of %s, not Motion JPEG' % '/'.join(codecs))
                video = streams
                if scale and rate:
                    fps = float(rate) / scale
            streams += 1
    if video is None:
        raise NotMjpegAvi('an AVI file without a video stream')
    return fps, size_found, ('%02ddc' % video).encode('ascii')


def chunks(data):
    """(id, payload) of the chunks one after another in ``data``."""
    position = 0
    while position + 8 <= len(data):
        chunk, size = CHUNK_HEAD.unpack_from(data, position)
        yield chunk, data[position + 8:position + 8 + size]
        position += 8 + size + (size & 1)


class MjpegAviSource(object):
    """An MJPG AVI file played at its own rate (or ``fps``), looped when ``loop``, its JPEG frames
    passed through; a file it cannot pass through is read by the OpenCV source ``opencv_source()``
    (a VideoFileSource made on first need, so that OpenCV is imported only then)."""

    def __init__(self, path, width=0, height=0, fps=0.0, loop=True, clock=time.time, opencv_source=None):
        self.path = path
        self.resize = (width, height)
        self.fps = fps
        self.loop = loop
        self.clock = clock
        self.opencv_source = opencv_source
        self.pacer = None
        self.stream = None
        self.chunk_id = None
        self.frames_this_pass = 0
        self.other = None  # the OpenCV source, once this file turned out to need one
        self.other_reason = None
        self.description = 'video file %s' % path
        self.warnings = ()

    def open(self):
        self.close()
        if self.other is None:
            try:
                self._open_avi()
                return
            except NotMjpegAvi as why:
                self.other = self.opencv_source()
                self.other_reason = str(why)
        self.other.open()
        self.description = '%s (read by OpenCV: %s)' % (self.other.description, self.other_reason)
        self.warnings = getattr(self.other, 'warnings', ())

    def _open_avi(self):
        try:
            stream = open(self.path, 'rb', buffering=0)  # a frame is one read: no copy through a buffer
        except (IOError, OSError) as error:
            if not os.path.exists(self.path):
                raise SourceError('video file %s does not exist' % self.path)
            raise SourceError('cannot open video file %s: %s' % (self.path, error.strerror or error))
        try:
            file_fps, size, self.chunk_id = read_header(stream)
            if size and fit_size(size[0], size[1], *self.resize) != tuple(size):
                raise NotMjpegAvi('resized to %dx%d' % fit_size(size[0], size[1], *self.resize))
        except Exception:
            stream.close()
            raise
        self.stream = stream
        self.frames_this_pass = 0
        if self.pacer is None:
            self.pacer = Pacer(self.fps or file_fps or 30.0, self.clock)
        self.description = 'video file %s, AVI read without OpenCV, pixel format MJPG (jpeg passthrough), ' \
                           '%s at %g fps' % (self.path, '%dx%d' % size if size else 'size unknown',
                                             self.fps or file_fps or 30.0)

    def read(self):
        if self.other is not None:
            return self.other.read()
        self.pacer.wait()
        jpeg = self._next_frame()
        if jpeg is None:
            if not self.loop:
                return None
            if not self.frames_this_pass:
                raise SourceError('video file %s has no video frame' % self.path)
            self.open()  # from the start; also notices a file that was removed or replaced meanwhile
            if self.other is not None:
                return self.other.read()
            jpeg = self._next_frame()
            if jpeg is None:
                raise SourceError('video file %s has no video frame' % self.path)
        stamp = self.clock()
        self.frames_this_pass += 1
        problem = jpeg_problem(jpeg)
        if problem:
            raise BadFrame(problem)
        return CapturedFrame(None, jpeg, stamp)

    def _next_frame(self):
        """The payload of the next video chunk, or None at the end of the file."""
        stream = self.stream
        while True:
            head = stream.read(8)
            if len(head) < 8:
                return None
            chunk, size = CHUNK_HEAD.unpack(head)
            if chunk in NESTED:
                if stream.read(4) in NESTED[chunk]:
                    continue  # the frames are the list's own chunks
                stream.seek(size - 4 + (size & 1), os.SEEK_CUR)
            elif chunk == self.chunk_id:
                data = stream.read(size)
                if size & 1:
                    stream.read(1)
                return data  # a frame cut short by the end of the file fails jpeg_problem
            else:
                stream.seek(size + (size & 1), os.SEEK_CUR)

    def close(self):
        if self.other is not None:
            self.other.close()
        if self.stream is not None:
            self.stream.close()
            self.stream = None
