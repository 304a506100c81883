"""The picture a viewer gets while its topic is silent: the topic, "no signal since HH:MM:SS", the reason.

Drawn with cv2.putText at the output's own size, so the browser's layout does not jump,
and encoded like the output (PNG for type=png, JPEG otherwise).
"""
import time

import numpy as np

from camera_server import image_codec

DEFAULT_SIZE = (640, 480)  # before the topic's first message nobody knows its size
JPEG_QUALITY = 80
PNG_LEVEL = 3  # OpenCV's default
BACKGROUND = (24, 24, 24)
TEXT_COLOUR = (255, 255, 255)


def message_lines(topic, since_wall, reason):
    """The text of a placeholder, line by line (printable ASCII: putText draws nothing else)."""
    lines = [topic, 'no signal since %s' % time.strftime('%H:%M:%S', time.localtime(since_wall))]
    if reason:
        lines.append(reason)
    return [''.join(c if ' ' <= c <= '~' else '?' for c in line) for line in lines]


def draw(width, height, lines, canvas=None):
    """A dark BGR image of ``width`` x ``height`` with ``lines`` centred, shrunk to fit its width.

    ``canvas``, an array of that shape, is drawn on instead of a new one: a 1280x720 picture
    a second would otherwise raise the allocator's high-water mark by megabytes.
    """
    cv2 = image_codec.opencv()  # a silent topic's first placeholder imports OpenCV
    font = cv2.FONT_HERSHEY_SIMPLEX
    img = canvas if canvas is not None else np.empty((height, width, 3), np.uint8)
    img[:] = BACKGROUND
    scale = max(0.3, min(width / 640.0, height / 480.0))
    widest = max(cv2.getTextSize(line, font, scale, 1)[0][0] for line in lines)
    if widest > width * 0.94:
        scale *= width * 0.94 / widest
    thickness = max(1, int(round(scale * 2)))
    line_height = int(cv2.getTextSize('Hg', font, scale, thickness)[0][1] * 2.2) + 1
    top = (height - line_height * len(lines)) // 2 + line_height
    for index, line in enumerate(lines):
        text_width = cv2.getTextSize(line, font, scale, thickness)[0][0]
        origin = (max(0, (width - text_width) // 2), top + index * line_height)
        cv2.putText(img, line, origin, font, scale, TEXT_COLOUR, thickness, cv2.LINE_AA)
    return img


def encode(img, png):
    """(content type, bytes) of the placeholder for an output of that kind."""
    if png:
        return 'image/png', image_codec.encode_png(img, PNG_LEVEL)
    return 'image/jpeg', image_codec.encode_jpeg(img, JPEG_QUALITY)
