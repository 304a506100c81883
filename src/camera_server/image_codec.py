"""Conversions between numpy images, sensor_msgs/Image fields and JPEG bytes.

No rospy here: functions take and return plain values so both nodes and the
unit tests share them.
"""
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


def jpeg_size(data):
    """(width, height) from a JPEG's frame header without decoding it, or None."""
    position = 2
    length = len(data)
    while position + 9 < length:
        if data[position:position + 1] != b'\xff':
            return None
        marker = bytearray(data[position + 1:position + 2])[0]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        segment = bytearray(data[position + 2:position + 9])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return (segment[5] << 8 | segment[6], segment[3] << 8 | segment[4])
        position += 2 + (segment[0] << 8 | segment[1])
    return None
