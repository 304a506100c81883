"""sensor_msgs/Image payloads of known pixels in every ROS encoding, and the picture each must show.

Colour encodings carry four vertical bands, red, green, blue and white (BANDS, in BGR);
single-channel depth-like encodings a ramp from left to right that must come out as 0..255.
Used by test_encodings.py on fake topics and, through topic_tool.py publish, by
test_real_topic_encodings.py on real ones.
"""
import numpy as np

WIDTH, HEIGHT = 64, 48
BANDS = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 255, 255)]  # BGR, each WIDTH/4 wide
BAYER = {'rggb': 'RGGB', 'bggr': 'BGGR', 'gbrg': 'GBRG', 'grbg': 'GRBG'}  # 2x2 cell, row by row

COLOUR_ENCODINGS = ['rgb8', 'bgr8', 'rgba8', 'bgra8', 'rgb16', 'bgr16', 'rgba16', 'bgra16', '8UC3', '8UC4',
                    '16UC3', '32FC3',
                    'yuv422'] + ['bayer_%s%d' % (p, bits) for bits in (8, 16) for p in sorted(BAYER)]
GREY_ENCODINGS = ['mono8', '8UC1']
NAN_COLUMNS = [32, 33]  # 32FC1: NaN and inf here
RAMP_ENCODINGS = ['mono16', '16UC1', '16SC1', '32SC1', '32FC1', '64FC1', '8SC1']


def bands_bgr():
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    step = WIDTH // len(BANDS)
    for i, colour in enumerate(BANDS):
        image[:, i * step:(i + 1) * step] = colour
    return image


def ramp():
    """0..1 along x, the same in every row."""
    return np.tile(np.linspace(0.0, 1.0, WIDTH), (HEIGHT, 1))


def _uyvy(bgr):
    """BT.601 limited-range YUV 4:2:2 as UYVY (ROS yuv422), from a BGR image with pairs of equal pixels."""
    b, g, r = [bgr[:, :, i].astype(np.float64) for i in range(3)]
    y = 16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255
    u = 128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255
    v = 128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255
    packed = np.zeros((HEIGHT, WIDTH, 2), np.float64)
    packed[:, 0::2, 0], packed[:, 1::2, 0] = u[:, 0::2], v[:, 0::2]
    packed[:, :, 1] = y
    return np.clip(np.round(packed), 0, 255).astype(np.uint8)


def _bayer(bgr, pattern):
    index = {'B': 0, 'G': 1, 'R': 2}
    mosaic = np.zeros((HEIGHT, WIDTH), np.uint8)
    for k, channel in enumerate(BAYER[pattern]):
        row, col = divmod(k, 2)
        mosaic[row::2, col::2] = bgr[row::2, col::2, index[channel]]
    return mosaic


def message_fields(encoding, big_endian=False):
    """(encoding, height, width, step, data bytes, is_bigendian) of the known image in ``encoding``."""
    bgr = bands_bgr()
    if encoding in RAMP_ENCODINGS:
        dtype, low, high = {'mono16': ('u2', 1000, 3000), '16UC1': ('u2', 1000, 3000),
                            '16SC1': ('i2', -2000, 2000), '32SC1': ('i4', -70000, 70000),
                            '32FC1': ('f4', 0.5, 4.0), '64FC1': ('f8', -1.0, 1.0), '8SC1': ('i1', -100, 100)}[encoding]
        pixels = (low + ramp() * (high - low)).astype(dtype)
        if encoding == '32FC1':  # depth cameras mark unknown depth so; it must show black
            pixels[:, NAN_COLUMNS] = [np.nan, np.inf]
    elif encoding in GREY_ENCODINGS:
        pixels = (ramp() * 255).round().astype(np.uint8)
    elif encoding == 'yuv422':
        pixels = _uyvy(bgr)
    elif encoding.startswith('bayer_'):
        pixels = _bayer(bgr, encoding[6:10])
        if encoding.endswith('16'):
            pixels = pixels.astype(np.uint16) * 257
    elif encoding == '16UC3':  # channel-only: shown as BGR, scaled to its range
        pixels = bgr.astype(np.uint16) * 100
    elif encoding == '32FC3':
        pixels = bgr.astype(np.float32) / 255 - 0.5
    else:
        order = bgr[:, :, ::-1] if encoding.startswith('rgb') else bgr
        if encoding.endswith('a8') or encoding.endswith('a16') or encoding == '8UC4':
            order = np.dstack([order, np.full((HEIGHT, WIDTH), 255, np.uint8)])
        pixels = order.astype(np.uint16) * 257 if encoding.endswith('16') else order
    pixels = np.ascontiguousarray(pixels)
    if big_endian:
        pixels = pixels.astype(pixels.dtype.newbyteorder('>'))
    # A padded row (step > width * pixel size) as cameras with aligned rows send them.
    row = pixels.reshape(HEIGHT, -1).view(np.uint8)
    padded = np.zeros((HEIGHT, row.shape[1] + 8), np.uint8)
    padded[:, :row.shape[1]] = row
    return encoding, HEIGHT, WIDTH, padded.shape[1], padded.tobytes(), int(big_endian)


def expected(encoding):
    """(BGR or grey uint8 picture the encoding must show, mask of the pixels to compare, tolerance)."""
    mask = np.ones((HEIGHT, WIDTH), bool)
    if encoding in RAMP_ENCODINGS or encoding in GREY_ENCODINGS:
        grey = (ramp() * 255).round().astype(np.uint8)
        if encoding == '32FC1':
            grey[:, NAN_COLUMNS] = 0
        return grey, mask, 3
    if encoding.startswith('bayer_') or encoding == 'yuv422':
        # Demosaicing and shared chroma blur band edges and borders: compare band centres.
        mask[:] = False
        step = WIDTH // len(BANDS)
        for i in range(len(BANDS)):
            mask[3:-3, i * step + 4:(i + 1) * step - 4] = True
    return bands_bgr(), mask, 6


def shown(image, encoding):
    """How far ``image`` (a decoded frame, BGR) is from what ``encoding`` must show, on its mask."""
    want, mask, tolerance = expected(encoding)
    if want.ndim == 2:
        want = np.dstack([want] * 3)
    assert image.shape == want.shape, '%s: shape %s, expected %s' % (encoding, image.shape, want.shape)
    return int(np.abs(image.astype(int) - want.astype(int))[mask].max()), tolerance
