"""A message becomes an output's picture: decode, resize, rotate, encode; or its bytes forwarded as they are.

The steps of the image path, each a function of a message and an OutputSpec; no threads, no
sockets. A topic's outputs share one decode per message (SharedDecode).
"""
import threading

from camera_server import image_codec
from camera_server.geometry import fit_size
from camera_server.image_codec import image_content_type
from camera_server.messages import CompressedMessage, message_size


class RenderError(ValueError):
    """A message that cannot be turned into the requested output; the message says why."""


def decoded_array(message, at_least=None):
    """A BGR or mono uint8 array of a ImageMessage or CompressedMessage; a JPEG may be decoded
    smaller, down to ``at_least`` = (width, height)."""
    if isinstance(message, CompressedMessage):
        img = image_codec.decode_jpeg(message.data, at_least)  # imdecode reads PNG as well
        if img is None:
            raise RenderError('compressed image (format %r) does not decode' % message.format)
        return img
    try:
        return image_codec.array_from_image_msg(message.encoding, message.height, message.width,
                                                message.step, message.data, message.is_bigendian)
    except (image_codec.UnsupportedEncoding, ValueError) as err:
        raise RenderError(str(err))


def transform(img, spec, size=None):
    """``img`` resized to ``size``, by default the spec's (aspect kept when one side is given), and
    rotated if inverted."""
    height, width = img.shape[:2]
    out_w, out_h = size or fit_size(width, height, spec.width, spec.height)
    if (out_w, out_h) == (width, height) and not spec.invert:
        return img
    cv2 = image_codec.opencv()
    if (out_w, out_h) != (width, height):
        shrink = out_w * out_h < width * height
        img = cv2.resize(img, (out_w, out_h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    if spec.invert:
        img = cv2.rotate(img, cv2.ROTATE_180)
    return img


def forwardable(message, spec):
    """True when ``message``'s bytes can go out unchanged for ``spec`` (no decode, no encode)."""
    if not isinstance(message, CompressedMessage):
        return False
    if spec.mode == 'as_is':
        return True
    return (spec.mode == 'jpeg' and spec.width < 0 and spec.height < 0 and spec.quality is None
            and not spec.invert and image_content_type(message.data) == 'image/jpeg')


def output_pixels(message, spec, pixels=decoded_array):
    """The array of ``message`` at ``spec``'s size and orientation (``pixels`` decodes, see render())."""
    size = message_size(message)
    # From the message's own size: the decode may be smaller (SharedDecode), the result is not.
    return transform(pixels(message), spec, fit_size(size[0], size[1], spec.width, spec.height)
                     if size else None)


def render(message, spec, pixels=decoded_array, forwarded=None):
    """(content type, payload bytes) of ``message`` for ``spec``; raises RenderError.

    ``pixels(message)`` gives the decoded array (a SharedDecode serves all outputs of a topic);
    ``forwarded`` is forwardable(message, spec) when the caller knows it already.
    """
    if forwarded if forwarded is not None else forwardable(message, spec):
        content_type = image_content_type(message.data)
        if content_type is None:
            raise RenderError('compressed image (format %r) is neither JPEG nor PNG' % message.format)
        return content_type, bytes(message.data)
    img = output_pixels(message, spec, pixels)
    try:
        if spec.mode == 'png':
            return 'image/png', image_codec.encode_png(img, 3 if spec.quality is None else spec.quality)
        return 'image/jpeg', image_codec.encode_jpeg(img, 95 if spec.quality is None else spec.quality)
    except ValueError as err:
        raise RenderError(str(err))


class SharedDecode(object):
    """One decode per message for every output of a topic, only as large as the largest needs.

    ``specs()`` gives the OutputSpecs served now (called under no lock of this class).
    """

    def __init__(self, specs):
        self._specs = specs
        self._decoded = (None, None)  # (message, its array): outputs of other sizes decode it once
        self._decode_lock = threading.Lock()

    def pixels(self, message):
        """The decoded array of ``message``, decoded once however many outputs need it, and only as
        large as the largest of them needs (a JPEG for thumbnails only decodes at 1/2 to 1/8)."""
        with self._decode_lock:
            decoded_message, array = self._decoded
            needed = self._decode_size(message)
            # Decoded small before a larger output joined (a new viewer starts from it): again.
            if decoded_message is not message or not covers(array, needed or message_size(message)):
                array = decoded_array(message, needed)
                self._decoded = (message, array)
            return array

    def _decode_size(self, message):
        """(width, height) every current output fits in, or None when one needs the full size."""
        size = message_size(message)
        if not size:
            return None
        source_w, source_h = size
        sizes = [fit_size(source_w, source_h, spec.width, spec.height) for spec in self._specs()]
        if not sizes or any(w >= source_w or h >= source_h for w, h in sizes):
            return None
        return max(w for w, _ in sizes), max(h for _, h in sizes)


def covers(array, size):
    """True when ``array`` is at least ``size`` = (width, height) large (an unknown size: it is)."""
    return size is None or (array.shape[1] >= size[0] and array.shape[0] >= size[1])
