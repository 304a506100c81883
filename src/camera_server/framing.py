"""Stream framing: the one place that turns encoded pictures into a stream's bytes.

One framer per kind of stream, each with the reply head and the bytes of every frame:
- MultipartFramer: web_video_server's multipart/x-mixed-replace parts (mjpeg, png and
  ros_compressed streams: each part says its own content type, length and X-Timestamp);
- AdvanceFramer: the same stream with advance headers (see url_api.wants_advance_headers);
- VideoFramer: an h264 (fragmented MP4) or vp8/vp9 (WebM) stream, whose fragments the
  output's Fmp4Packer or WebmPacker packs once for all its clients.
A framer serves one connection (it remembers the initialization segment that connection
has); the stream writer asks it for the chunks of each frame. No sockets here.
"""
from collections import namedtuple

from camera_server import fmp4, webm
from camera_server.http_replies import cors_headers, format_stamp, header_block, no_cache_headers, reply_head

BOUNDARY = 'boundarydonotcross'
REPLACING_PARTS = 'multipart/x-mixed-replace'  # web_video_server's stream type: each part replaces the last
LISTED_PARTS = 'multipart/mixed'  # the same parts, for a script to read (see multipart_type)
PART_END = ('\r\n--%s\r\n' % BOUNDARY).encode('latin-1')  # ends every part's payload
VIDEO_CONTENT_TYPES = {'h264': 'video/mp4', 'vp8': 'video/webm', 'vp9': 'video/webm'}

# One encoded picture shared by every client of an output; ``part`` is its multipart part.
EncodedImage = namedtuple('EncodedImage', 'seq stamp content_type payload part')
# One packed video frame: ``init`` is the initialization segment it needs (the same object for
# every fragment of one encoder), ``part`` the fMP4 fragment or WebM cluster.
VideoFragment = namedtuple('VideoFragment', 'seq stamp keyframe init part')


def encoded_image(seq, stamp, content_type, payload):
    """An EncodedImage with its part: exactly web_video_server's three part headers (CORS is in
    the stream head only), the payload, and the next boundary."""
    headers = [('Content-type', content_type), ('X-Timestamp', format_stamp(stamp)),
               ('Content-Length', str(len(payload)))]
    return EncodedImage(seq, stamp, content_type, payload,
                        header_block(headers).encode('latin-1') + payload + PART_END)


def multipart_type(accept):
    """The media type of a multipart stream for a request's Accept: web_video_server's
    multipart/x-mixed-replace, or multipart/mixed (the same bytes) when Accept asks for that first.

    WebKit (Safari) lets no script read a multipart/x-mixed-replace body ("Load failed") and
    reads any other type as it arrives: the viewer page's fetch() asks for multipart/mixed;
    every other client gets web_video_server's reply byte for byte.
    """
    first = (accept or '').split(',')[0].split(';')[0].strip().lower()
    return LISTED_PARTS if first == LISTED_PARTS else REPLACING_PARTS


def multipart_head(cors_origin, media_type=REPLACING_PARTS):
    """What web_video_server sends before the first part of a multipart stream (of ``media_type``)."""
    headers = no_cache_headers([('Content-type', '%s;boundary=%s' % (media_type, BOUNDARY))])
    return reply_head(200, headers + cors_headers(cors_origin)) + ('--%s\r\n' % BOUNDARY).encode('latin-1')


class MultipartFramer(object):
    """web_video_server's multipart stream: every frame goes out as its ready part."""

    repeatable = True  # a part may be sent again (~publish_rate)

    def __init__(self, media_type=REPLACING_PARTS):
        self._media_type = media_type

    def head(self, cors_origin):
        return multipart_head(cors_origin, self._media_type)

    def chunks(self, frame):
        return (frame.part,)


class AdvanceFramer(MultipartFramer):
    """A multipart stream with advance headers: each part's header block (its type only) follows
    the previous frame at once, so a browser paints a frame as soon as it has arrived."""

    def __init__(self, first_type):
        self._first_type = first_type  # what the output encodes, before any frame

    def head(self, cors_origin):
        return multipart_head(cors_origin) + self._part_head(self._first_type)

    @staticmethod
    def _part_head(content_type):
        return ('Content-type: %s\r\n\r\n' % content_type).encode('latin-1')

    def chunks(self, frame):
        return (frame.payload, PART_END + self._part_head(frame.content_type))


class VideoFramer(object):
    """An h264/vp8/vp9 stream: web_video_server's reply head, then the container bytes until close;
    a fragment whose initialization segment this connection has not had yet is preceded by it."""

    repeatable = False  # a repeated fragment would break the stream

    def __init__(self, codec):
        self._codec = codec
        self._init = None  # the initialization segment last sent

    def head(self, cors_origin):
        headers = no_cache_headers([('Expires', '0'), ('Max-Age', '0'), ('Trailer', 'Expires'),
                                    ('Content-type', VIDEO_CONTENT_TYPES[self._codec])])
        return reply_head(200, headers + cors_headers(cors_origin))

    def chunks(self, fragment):
        if fragment.init is self._init:
            return (fragment.part,)
        self._init = fragment.init
        return (fragment.init, fragment.part)


class Fmp4Packer(object):
    """H.264 samples into fragmented MP4, one fragment per frame, for every client of an output."""

    def __init__(self):
        self._last_stamp = 0.0

    @staticmethod
    def init_segment(width, height, fps, avcc):
        """ftyp + moov, or None while the encoder has not told its avcC yet."""
        return None if avcc is None else fmp4.init_segment(width, height, avcc)

    def fragment(self, seq, sample, fps):
        return fmp4.fragment(seq, sample.stamp, self._duration(sample.stamp, fps), sample.data, sample.keyframe)

    def _duration(self, stamp, fps):
        """A frame's expected duration in the MP4 timescale: the last stamp interval, unless it
        is far from the frame period (a pause, the encoder's start-up)."""
        period = 1.0 / fps
        interval = stamp - self._last_stamp
        self._last_stamp = stamp
        if not 0.5 * period <= interval <= 2 * period:
            interval = period
        return int(round(interval * fmp4.TIMESCALE))


class WebmPacker(object):
    """VP8/VP9 frames into WebM, one Cluster per frame, for every client of an output."""

    def __init__(self, codec):
        self._codec = codec

    def init_segment(self, width, height, fps, avcc):
        return webm.init_segment(self._codec, width, height, fps)

    @staticmethod
    def fragment(seq, sample, fps):
        return webm.cluster(sample.stamp, sample.data, sample.keyframe)


def video_packer(codec):
    return Fmp4Packer() if codec == 'h264' else WebmPacker(codec)
