"""web_video_server's URL API as values: query parsing, validation and the topic plan; no I/O.

Parses request targets and query parameters into a validated StreamRequest, and decides
which ROS topic serves a request and what is made from it (``plan_source``). Every refusal
is an HttpError with the status and a one-line reason naming the bad parameter.
"""
from collections import namedtuple

from camera_server.compat import parse_qsl
from camera_server.messages import COMPRESSED_TYPE, IMAGE_TYPE

STREAM_TYPES = ('mjpeg', 'png', 'ros_compressed')
VIDEO_TYPES = ('vp8', 'vp9', 'h264')
X264_PRESETS = ('ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower',
                'veryslow')
VPX_DEADLINES = ('realtime', 'good', 'best')
QUANTIZER_RANGE = {'h264': (0, 51), 'vp8': (0, 63), 'vp9': (0, 63)}
MAX_BITRATE = 100 * 1000 * 1000
MAX_GOP = 1000
TRANSPORTS = ('raw', 'compressed')
MAX_SIZE = 8192  # largest width/height accepted in a query
QUALITY_RANGE = {'mjpeg': (1, 100), 'png': (0, 9)}

# A validated /stream or /snapshot query. width/height <= 0 mean the source size;
# quality is None when the query did not give one (the camera's JPEG may then be reused).
# ``video`` is the VideoSettings of type h264/vp8/vp9, else None.
StreamRequest = namedtuple('StreamRequest', 'topic type width height quality invert transport video')

# The encoder settings of a video stream, from web_video_server's query parameters in their
# real meaning: bitrate in bits/s, gop = frames from one keyframe to the next, qmin/qmax the
# quantizer bounds (None: the encoder's own), preset (h264) and deadline (vp8/vp9, the query's quality). bitrate and
# gop are None when not given: the encoder picks them from the frame size and rate.
VideoSettings = namedtuple('VideoSettings', 'codec bitrate gop qmin qmax preset deadline')

# What one shared output produces from a topic. mode: 'jpeg', 'png', 'as_is' (the
# CompressedImage bytes unchanged) or 'video' (``video`` holds its VideoSettings).
OutputSpec = namedtuple('OutputSpec', 'mode width height quality invert video')
OutputSpec.__new__.__defaults__ = (None,)


class HttpError(Exception):
    """A request that gets ``status`` and a one-line ``reason`` instead of content."""

    def __init__(self, status, reason, headers=()):
        Exception.__init__(self, '%d %s' % (status, reason))
        self.status = status
        self.reason = reason
        self.headers = list(headers)


def parse_target(target):
    """(path, params) of a request target; raises HttpError 400 when it is neither form below.

    The origin form ``/path?query`` and the absolute form ``http://host/path?query``. The
    path is kept as sent, neither decoded nor normalised, so ``//stream``, ``/stream/``,
    ``%2Fstream`` and ``/health/../stream`` are paths of their own (404), never /stream or
    /health. The query is percent-decoded (web_video_server does not decode it, so
    ``topic=%2Fcamera%2Fimage_raw`` failed there); the first of repeated keys wins.
    """
    if not target.startswith('/'):
        scheme, sep, rest = target.partition('://')
        if not sep or scheme.lower() not in ('http', 'https'):
            raise HttpError(400, 'bad request target %r: expected /path?query or http://host/path?query'
                            % target[:200])
        host_end = min([i for i in (rest.find('/'), rest.find('?')) if i >= 0] or [len(rest)])
        target = rest[host_end:]
        target = target if target.startswith('/') else '/' + target
    path, _, query = target.partition('?')
    params = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, value)
    return path, params


def _int_param(params, name, default, low, high, meaning):
    raw = params.get(name)
    if raw is None or raw == '':
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise HttpError(400, 'bad %s=%r: accepted values are integers %d..%d (%s)'
                        % (name, raw, low, high, meaning))
    return value


def parse_stream_request(params, default_type='mjpeg', snapshot=False):
    """A StreamRequest from query ``params``; raises HttpError 400/501 naming the bad parameter."""
    topic = params.get('topic', '')
    if not topic:
        raise HttpError(400, 'missing parameter topic, e.g. ?topic=/camera/image_raw')
    if not topic.startswith('/'):
        topic = '/' + topic
    stream_type = 'mjpeg' if snapshot else params.get('type') or default_type
    if stream_type not in STREAM_TYPES + VIDEO_TYPES:
        raise HttpError(400, 'bad type=%r: accepted values are %s'
                        % (stream_type, ', '.join(STREAM_TYPES + VIDEO_TYPES)))
    width = _int_param(params, 'width', -1, -1, MAX_SIZE, '-1 or 0 for the source size')
    height = _int_param(params, 'height', -1, -1, MAX_SIZE, '-1 or 0 for the source size')
    quality = None
    if stream_type in QUALITY_RANGE:
        low, high = QUALITY_RANGE[stream_type]
        meaning = 'JPEG quality' if stream_type == 'mjpeg' else 'PNG compression level'
        quality = _int_param(params, 'quality', None, low, high, meaning)
    video = parse_video_settings(params, stream_type) if stream_type in VIDEO_TYPES else None
    transport = params.get('default_transport') or 'raw'
    if transport not in TRANSPORTS:
        raise HttpError(400, 'bad default_transport=%r: accepted values are %s'
                        % (transport, ', '.join(TRANSPORTS)))
    return StreamRequest(topic, stream_type, width, height, quality, 'invert' in params, transport, video)


def _choice_param(params, name, default, accepted):
    value = params.get(name) or default
    if value not in accepted:
        raise HttpError(400, 'bad %s=%r: accepted values are %s' % (name, value, ', '.join(accepted)))
    return value


def parse_video_settings(params, codec):
    """The VideoSettings of an h264/vp8/vp9 query; raises HttpError 400 naming the bad parameter."""
    bitrate = _int_param(params, 'bitrate', None, 10000, MAX_BITRATE, 'bits per second')
    gop = _int_param(params, 'gop', None, 1, MAX_GOP, 'frames from one keyframe to the next')
    low, high = QUANTIZER_RANGE[codec]
    # Not given: the encoder's own range, so that the bitrate holds (web_video_server's qmax=42
    # kept libvpx at 1.7x the bitrate asked for on a detailed 1280x720 scene).
    qmin = _int_param(params, 'qmin', None, low, high, 'smallest quantizer')
    qmax = _int_param(params, 'qmax', None, low, high, 'largest quantizer')
    if qmin is not None and qmax is not None and qmin > qmax:
        raise HttpError(400, 'bad qmin=%d, qmax=%d: accepted values have qmin <= qmax' % (qmin, qmax))
    preset = deadline = None
    if codec == 'h264':
        preset = _choice_param(params, 'preset', 'ultrafast', X264_PRESETS)
    else:  # web_video_server's quality of vp8/vp9 is libvpx's deadline
        deadline = _choice_param(params, 'quality', 'realtime', VPX_DEADLINES)
    return VideoSettings(codec, bitrate, gop, qmin, qmax, preset, deadline)


def plan_source(request, topic_types):
    """(topic to subscribe, its message type, OutputSpec) serving ``request``.

    ``topic_types`` maps advertised topic names to message types. Raises HttpError 404
    with the reason when the topic is not advertised or carries no image. The camera's
    own JPEG (T/compressed) is used whenever no pixel work is asked for, so that no
    decode and no encode happens; ros_compressed without T/compressed falls back to
    mjpeg like web_video_server.
    """
    topic = request.topic
    msg_type = topic_types.get(topic)
    if msg_type is None:
        raise HttpError(404, 'topic %s is not advertised (the image topics are listed at /)' % topic)
    if msg_type not in (IMAGE_TYPE, COMPRESSED_TYPE):
        raise HttpError(404, 'topic %s has type %s, not %s' % (topic, msg_type, IMAGE_TYPE))
    compressed = topic if msg_type == COMPRESSED_TYPE else topic + '/compressed'
    has_compressed = topic_types.get(compressed) == COMPRESSED_TYPE
    if request.type == 'ros_compressed' and has_compressed:
        return compressed, COMPRESSED_TYPE, OutputSpec('as_is', -1, -1, None, False)
    if request.video is not None:
        # The camera's JPEG decodes (TurboJPEG) for less CPU than rospy takes to move a raw frame.
        spec = OutputSpec('video', request.width if request.width > 0 else -1,
                          request.height if request.height > 0 else -1, None, request.invert, request.video)
        return (compressed, COMPRESSED_TYPE, spec) if has_compressed else (topic, IMAGE_TYPE, spec)
    mode = 'png' if request.type == 'png' else 'jpeg'
    spec = OutputSpec(mode, request.width if request.width > 0 else -1,
                      request.height if request.height > 0 else -1, request.quality, request.invert)
    reuse_jpeg = mode == 'jpeg' and spec.width < 0 and spec.height < 0 and spec.quality is None \
        and not spec.invert
    if has_compressed and (msg_type == COMPRESSED_TYPE or reuse_jpeg or request.transport == 'compressed'):
        return compressed, COMPRESSED_TYPE, spec
    return topic, IMAGE_TYPE, spec


def spec_type(spec):
    """The query type an OutputSpec serves: mjpeg, png, ros_compressed, h264, vp8 or vp9."""
    if spec.mode == 'video':
        return spec.video.codec
    return {'jpeg': 'mjpeg', 'png': 'png', 'as_is': 'ros_compressed'}[spec.mode]


def wants_advance_headers(params, accept):
    """True when a stream sends each part's headers right after the previous frame (advance headers).

    Chrome paints a multipart part only once the next part's headers have arrived
    (crbug 527446): at 2 fps every frame would show 500 ms late. The next frame's
    Content-Length and X-Timestamp are not known then, so advance parts carry only
    Content-type, and a browser finds the part's end by the boundary. Clients that count
    Content-Length (web_video_server's) would break on that, so it is what a browser's
    <img> gets (its Accept starts with image/), or what ``advance_headers=1`` asks for
    (uStreamer's name); ``advance_headers=0`` keeps web_video_server's parts everywhere.
    """
    value = params.get('advance_headers', '')
    if value == '':
        return (accept or '').lstrip().lower().startswith('image/')
    if value in ('0', '1'):
        return value == '1'
    raise HttpError(400, 'bad advance_headers=%r: accepted values are 0 and 1' % value[:50])

