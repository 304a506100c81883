"""The tests' one frame generator: synthetic BGR pictures of three kinds.

- ``indexed``: a gradient whose top row of blocks spells the frame's index in binary
  (``read_index`` reads it back, through JPEG noise), so a decoded frame says which it was;
- ``detailed``: texture and motion, what video codecs and JPEG speed are judged on;
- ``noise``: incompressible, so that encoded frames are large and fill socket buffers fast.
"""
import cv2
import numpy as np

BITS = 10  # frame indices up to 1023
KINDS = ('indexed', 'detailed', 'noise')


def make_frame(index, width=320, height=240, kind='indexed'):
    """BGR frame ``index`` of ``kind`` (one of KINDS), ``width`` x ``height``."""
    assert kind in KINDS, kind
    if kind == 'noise':
        return np.random.RandomState(index).randint(0, 256, (height, width, 3)).astype(np.uint8)
    if kind == 'detailed':
        return _detailed(index, width, height)
    image = np.zeros((height, width, 3), np.uint8)
    image[:, :, 0] = 128  # never as dark as the server's placeholder picture, whatever the index
    image[:, :, 1] = np.linspace(0, 255, width, dtype=np.uint8)[None, :]
    image[:, :, 2] = (index * 37) % 256
    block = width // BITS
    for bit in range(BITS):
        image[:block, bit * block:(bit + 1) * block] = 255 if (index >> bit) & 1 else 0
    return image


def read_index(image):
    """The index an ``indexed`` frame spells, robust to JPEG noise."""
    width = image.shape[1]
    block = width // BITS
    value = 0
    for bit in range(BITS):
        patch = image[block // 4:block * 3 // 4, bit * block + block // 4:(bit + 1) * block - block // 4]
        if patch.mean() > 127:
            value |= 1 << bit
    return value


_SCENES = {}


def _detailed(index, width, height):
    """Smoothed noise over colour bars, panning 4 px per frame, and a block moving across it."""
    if (width, height) not in _SCENES:
        rng = np.random.RandomState(5)
        bars = np.zeros((height, width, 3), np.uint8)
        for band, colour in enumerate([(255, 255, 255), (0, 255, 255), (255, 255, 0), (0, 255, 0),
                                       (255, 0, 255), (0, 0, 255), (255, 0, 0), (40, 40, 40)]):
            bars[:, band * width // 8:(band + 1) * width // 8] = colour
        noise = rng.randint(0, 255, (max(1, height // 4), max(1, width // 4), 3)).astype(np.uint8)
        texture = cv2.resize(cv2.GaussianBlur(noise, (5, 5), 0), (width, height))
        _SCENES[(width, height)] = cv2.addWeighted(bars, 0.6, texture, 0.4, 0)
    img = np.roll(_SCENES[(width, height)], 4 * index, axis=1)
    x = (12 * index) % max(1, width - height // 4)
    cv2.rectangle(img, (x, height // 3), (x + height // 4, height // 3 + height // 4), (0, 128, 255), -1)
    return img
