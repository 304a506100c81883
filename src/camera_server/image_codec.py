"""Conversions between numpy images, sensor_msgs/Image fields and JPEG bytes.

No rospy here: functions take and return plain values so both nodes and the
unit tests share them.
"""
import re
import struct

import numpy as np

from camera_server import turbojpeg

# libjpeg-turbo's own API when installed (about 3x faster decoding, same pixels), else OpenCV.
TURBOJPEG = turbojpeg.load()

# Encodings the capture node can publish, with their channel count. The web server reads
# these by hand (measured: no copy beyond a row view, no library call); cv_bridge the others.
PUBLISH_ENCODINGS = {'bgr8': 3, 'rgb8': 3, 'mono8': 1}

# cv_bridge's generic encodings (8UC3, 16UC1, 32FC1, ...) carry no colour meaning, so it will
# not convert them to bgr8; they are shown as BGR(A) or grey, scaled to their range.
GENERIC_ENCODING = re.compile(r'^(8|16|32|64)[USF]C\d+$')
MISSING_BRIDGE = ('image encoding %r needs cv_bridge, which is not installed (Debian: python3-cv-bridge, '
                  'ROS Melodic: ros-melodic-cv-bridge); without it only %s are shown')

JPEG_SOI = b'\xff\xd8'
JPEG_EOI = b'\xff\xd9'


def opencv():
    """The cv2 module, imported on first use. Debian's OpenCV adds about 100 MB of resident memory
    to a process (it links GDAL, VTK, Poppler, FFmpeg...); forwarding a camera's JPEG needs none of
    it, so only resizing, raw pixels and encodings other than JPEG passthrough import it."""
    import cv2
    return cv2


class UnsupportedEncoding(ValueError):
    """An image encoding this package cannot read; the message names it and the accepted ones."""


def is_jpeg(data):
    """True when ``data`` (bytes or a uint8 array) starts with the JPEG start-of-image marker."""
    if isinstance(data, np.ndarray):
        return data.size > 2 and data.flat[0] == 0xFF and data.flat[1] == 0xD8
    return data[:2] == JPEG_SOI


def image_content_type(data):
    """MIME type of encoded image bytes from their signature, or None when unknown."""
    if data[:2] == JPEG_SOI:
        return 'image/jpeg'
    if data[:8] == b'\x89PNG\r\n\x1a\n':
        return 'image/png'
    return None


def convert_bgr(bgr, encoding):
    """Turn a BGR (or already single-channel) image into ``encoding`` ('bgr8', 'rgb8', 'mono8')."""
    if encoding == 'bgr8' and bgr.ndim == 3:
        return bgr
    cv2 = opencv()
    if bgr.ndim == 2:
        return bgr if encoding == 'mono8' else cv2.cvtColor(
            bgr, cv2.COLOR_GRAY2RGB if encoding == 'rgb8' else cv2.COLOR_GRAY2BGR)
    if encoding == 'bgr8':
        return bgr
    if encoding == 'rgb8':
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if encoding == 'mono8':
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    raise UnsupportedEncoding('encoding %r: accepted values are %s'
                              % (encoding, ', '.join(sorted(PUBLISH_ENCODINGS))))


def image_fields(img):
    """(height, width, step, C-contiguous array) of a uint8 image, as sensor_msgs/Image wants them."""
    img = np.ascontiguousarray(img)
    height, width = img.shape[:2]
    return height, width, img.strides[0], img


def array_from_image_msg(encoding, height, width, step, data, is_bigendian=0):
    """A displayable uint8 BGR or mono array from sensor_msgs/Image fields.

    bgr8, rgb8 and mono8 are read here; every other ROS encoding (Bayer, yuv422, 16-bit
    colour, 8UC4, depth ...) through cv_bridge. Single-channel 16-bit, integer and float
    images (depth) are scaled to their own range, so that they are visible instead of nearly
    black (a web_video_server defect). Raises UnsupportedEncoding.
    """
    channels = PUBLISH_ENCODINGS.get(encoding)
    if channels is not None:
        rows = pixel_rows(encoding, height, width, step, data, channels)
        img = rows[:, :width * channels].reshape((height, width, channels) if channels > 1 else (height, width))
        return opencv().cvtColor(img, opencv().COLOR_RGB2BGR) if encoding == 'rgb8' else img
    bridge = cv_bridge()
    if bridge is None:
        raise UnsupportedEncoding(MISSING_BRIDGE % (encoding, ', '.join(sorted(PUBLISH_ENCODINGS))))
    try:
        dtype, channels = bridge.dtype_with_channels(encoding)
    except RuntimeError as error:
        raise UnsupportedEncoding('image encoding %r: %s' % (encoding, error))
    dtype = np.dtype(dtype).newbyteorder('>' if is_bigendian else '<')
    rows = pixel_rows(encoding, height, width, step, data, channels * dtype.itemsize)
    img = rows[:, :width * channels * dtype.itemsize].copy().view(dtype)
    img = img.reshape((height, width, channels) if channels > 1 else (height, width))
    if not dtype.isnative:
        img = img.astype(dtype.newbyteorder('='))
    if GENERIC_ENCODING.match(encoding) or (channels == 1 and dtype.itemsize > 1 and 'bayer' not in encoding):
        return generic_array(img)
    try:
        return bridge.to_bgr8(img, encoding)
    except RuntimeError as error:
        raise UnsupportedEncoding('image encoding %r: cv_bridge cannot convert it: %s' % (encoding, error))


def pixel_rows(encoding, height, width, step, data, pixel_size):
    """``data`` as ``height`` rows of ``step`` bytes, or UnsupportedEncoding when it cannot hold the image."""
    if step < width * pixel_size or len(data) < height * step:
        raise UnsupportedEncoding('image %dx%d %s: step %d and %d bytes of data do not hold it (%d bytes a pixel)'
                                  % (width, height, encoding, step, len(data), pixel_size))
    return np.frombuffer(data, dtype=np.uint8, count=height * step).reshape(height, step)


def generic_array(img):
    """A channel-only image as BGR (3 or 4 channels, a fourth is dropped) or grey (1 or 2, the first),
    scaled to its range unless it is uint8 already."""
    if img.ndim == 3:
        img = img[:, :, :3] if img.shape[2] >= 3 else img[:, :, 0]
    if img.dtype == np.uint8:
        return np.ascontiguousarray(img)
    return scaled_to_range(img)


def scaled_to_range(img):
    """uint8 ``img`` stretched from its finite minimum (0) to its maximum (255); NaN and inf are 0."""
    finite = np.isfinite(img) if img.dtype.kind == 'f' else None
    if finite is not None and finite.all():
        finite = None
    if finite is not None and not finite.any():
        return np.zeros(img.shape, np.uint8)
    cv2 = opencv()
    # minMaxLoc takes one channel: every channel's values as one column.
    low, high = cv2.minMaxLoc(img.reshape(-1, 1), None if finite is None else finite.view(np.uint8).reshape(-1, 1))[:2]
    alpha = 255.0 / (high - low) if high > low else 0.0
    out = cv2.convertScaleAbs(img, alpha=alpha, beta=-low * alpha)
    if finite is not None:
        out[~finite] = 0
    return out


class _Bridge(object):
    """The two cv_bridge calls this package makes, imported on first use."""

    def __init__(self):
        from cv_bridge import CvBridge  # noqa: lazy: image_codec works without cv_bridge
        from cv_bridge.boost.cv_bridge_boost import cvtColor2
        self._bridge = CvBridge()
        self._convert = cvtColor2

    def dtype_with_channels(self, encoding):
        """(numpy dtype, channels) of a ROS encoding; RuntimeError for an unknown one."""
        try:
            return self._bridge.encoding_to_dtype_with_channels(encoding)
        except Exception as error:  # CvBridgeError, whose base differs between versions
            raise RuntimeError(str(error))

    def to_bgr8(self, img, encoding):
        """cv_bridge's conversion (demosaicing, YUV, 16-bit colour scaled by 1/256) to bgr8."""
        return self._convert(img, encoding, 'bgr8')


_BRIDGE = []  # [the _Bridge, or None when cv_bridge is not installed], once tried


def cv_bridge():
    """The process's _Bridge, or None without cv_bridge (tried once)."""
    if not _BRIDGE:
        try:
            _BRIDGE.append(_Bridge())
        except ImportError:
            _BRIDGE.append(None)
    return _BRIDGE[0]


def encode_jpeg(img, quality):
    """JPEG bytes of ``img`` at ``quality`` (1-100)."""
    if TURBOJPEG is not None:
        data = TURBOJPEG.encode(img, quality)
        if data is not None:
            return data
    cv2 = opencv()
    ok, buf = cv2.imencode('.jpg', img, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise ValueError('JPEG encoding failed for an image of shape %s' % (img.shape,))
    return buf.tobytes()


def encode_png(img, level):
    """PNG bytes of ``img`` at compression ``level`` (0-9)."""
    cv2 = opencv()
    ok, buf = cv2.imencode('.png', img, [int(cv2.IMWRITE_PNG_COMPRESSION), int(level)])
    if not ok:
        raise ValueError('PNG encoding failed for an image of shape %s' % (img.shape,))
    return buf.tobytes()


def decode_jpeg(data, at_least=None):
    """A BGR array from JPEG (or PNG) bytes, or None when they do not decode.

    ``at_least`` = (width, height): a JPEG may come out smaller than its size, but not
    smaller than that (TurboJPEG's scaled decode; OpenCV decodes at full size).
    """
    if not data:  # OpenCV 4 raises on an empty buffer (a file caught while being written)
        return None
    if TURBOJPEG is not None:
        image = TURBOJPEG.decode_bgr(data, at_least)
        if image is not None:
            return image
    # Not a JPEG TurboJPEG takes (PNG, damaged data, no library): OpenCV decides.
    cv2 = opencv()
    return cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)


# Markers with no length field (TEM, RST0-7) and frame headers (SOF0-15 but DHT, JPG, DAC).
STANDALONE_MARKERS = frozenset([0x01] + list(range(0xD0, 0xD8)))
SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - frozenset([0xC4, 0xC8, 0xCC])
SOS = 0xDA
MARKER = struct.Struct('>BBH')  # 0xFF, marker, segment length
FRAME_SIZE = struct.Struct('>HH')  # height, width in a frame header
EOI_SEARCH_BYTES = 1024  # cameras may pad a frame after its end-of-image marker


def _scan_header(data, until_scan):
    """((width, height) or None, problem or None) from the marker segments of JPEG ``data``.

    Walks the segment lengths only (a few steps, no entropy data): up to the frame header,
    or with ``until_scan`` up to the start of scan, which must follow a frame header.
    It runs for every passed-through frame, hence the tight loop.
    """
    position = 2
    last = len(data) - 4
    size = None
    unpack = MARKER.unpack_from
    while position <= last:
        prefix, marker, segment_length = unpack(data, position)
        if prefix != 0xFF:
            return size, 'no marker at byte %d of the header' % position
        if marker == SOS:
            return size, None if size or not until_scan else 'no frame header before the scan'
        if marker in SOF_MARKERS:
            if position + 9 > len(data):
                return None, 'truncated frame header'
            height, width = FRAME_SIZE.unpack_from(data, position + 5)
            size = (width, height)
            if not until_scan:
                return size, None
            if not width or not height:
                return size, 'frame header gives a size of %dx%d' % size
        if marker == 0xFF:  # fill byte
            position += 1
        elif marker in STANDALONE_MARKERS:
            position += 2
        else:
            position += 2 + segment_length
    return size, 'header truncated at byte %d of %d' % (min(position, len(data)), len(data))


def jpeg_size(data):
    """(width, height) from a JPEG's frame header without decoding it, or None."""
    return _scan_header(data, False)[0]


def jpeg_problem(data):
    """Why the JPEG ``data`` (bytes) is broken, or None when it looks whole.

    Cheap enough for every passed-through frame (markers and header lengths, tens of
    microseconds, no decode): it catches truncated frames, garbage and damaged headers;
    damage inside the entropy-coded data only shows when somebody decodes.
    """
    if data[:2] != JPEG_SOI:
        return 'not a JPEG (no start-of-image marker)'
    if not data.endswith(JPEG_EOI) and data.rfind(JPEG_EOI, max(2, len(data) - EOI_SEARCH_BYTES)) < 0:
        return 'truncated JPEG (no end-of-image marker, %d bytes)' % len(data)
    problem = _scan_header(data, True)[1]
    return None if problem is None else 'damaged JPEG header (%s)' % problem
