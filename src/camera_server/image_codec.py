"""Conversions between numpy images, sensor_msgs/Image fields and JPEG bytes.

No rospy here: functions take and return plain values so both nodes and the
unit tests share them.
"""
import struct

import cv2
import numpy as np

from camera_server import turbojpeg

# libjpeg-turbo's own API when installed (about 3x faster decoding, same pixels), else OpenCV.
TURBOJPEG = turbojpeg.load()

# Encodings the capture node can publish, with their channel count.
PUBLISH_ENCODINGS = {'bgr8': 3, 'rgb8': 3, 'mono8': 1}

# Encodings the web server can turn into a picture: name -> (dtype, channels).
READABLE_ENCODINGS = {
    'bgr8': (np.uint8, 3), 'rgb8': (np.uint8, 3),
    'bgra8': (np.uint8, 4), 'rgba8': (np.uint8, 4),
    'mono8': (np.uint8, 1), '8UC1': (np.uint8, 1), '8UC3': (np.uint8, 3),
    'mono16': (np.uint16, 1), '16UC1': (np.uint16, 1),
    '32FC1': (np.float32, 1),
}

JPEG_SOI = b'\xff\xd8'
JPEG_EOI = b'\xff\xd9'


class UnsupportedEncoding(ValueError):
    """An image encoding this package cannot read; the message names it and the accepted ones."""


def is_jpeg(data):
    """True when ``data`` (bytes or a uint8 array) starts with the JPEG start-of-image marker."""
    if isinstance(data, np.ndarray):
        return data.size > 2 and data.flat[0] == 0xFF and data.flat[1] == 0xD8
    return data[:2] == JPEG_SOI


def convert_bgr(bgr, encoding):
    """Turn a BGR (or already single-channel) image into ``encoding`` ('bgr8', 'rgb8', 'mono8')."""
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


def array_from_image_msg(encoding, height, width, step, data):
    """A displayable uint8 BGR or mono array from sensor_msgs/Image fields.

    16-bit and float images are scaled to their own range so that depth images
    are visible instead of nearly black (a web_video_server defect).
    """
    if encoding not in READABLE_ENCODINGS:
        raise UnsupportedEncoding('image encoding %r: readable encodings are %s'
                                  % (encoding, ', '.join(sorted(READABLE_ENCODINGS))))
    dtype, channels = READABLE_ENCODINGS[encoding]
    itemsize = np.dtype(dtype).itemsize
    buf = np.frombuffer(data, dtype=np.uint8, count=height * step)
    rows = buf.reshape(height, step)[:, :width * channels * itemsize]
    img = rows.copy().view(dtype) if itemsize > 1 else rows
    img = img.reshape((height, width, channels) if channels > 1 else (height, width))
    if encoding == 'rgb8':
        return cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
    if encoding == 'rgba8':
        return cv2.cvtColor(img, cv2.COLOR_RGBA2BGR)
    if encoding == 'bgra8':
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if itemsize > 1:
        finite = np.nan_to_num(img.astype(np.float32))
        return cv2.normalize(finite, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return img


def encode_jpeg(img, quality):
    """JPEG bytes of ``img`` at ``quality`` (1-100)."""
    if TURBOJPEG is not None:
        data = TURBOJPEG.encode(img, quality)
        if data is not None:
            return data
    ok, buf = cv2.imencode('.jpg', img, [int(cv2.IMWRITE_JPEG_QUALITY), int(quality)])
    if not ok:
        raise ValueError('JPEG encoding failed for an image of shape %s' % (img.shape,))
    return buf.tobytes()


def decode_jpeg(data):
    """A BGR array from JPEG (or PNG) bytes, or None when they do not decode."""
    if TURBOJPEG is not None:
        image = TURBOJPEG.decode_bgr(data)
        if image is not None:
            return image
    # Not a JPEG TurboJPEG takes (PNG, damaged data, no library): OpenCV decides.
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
