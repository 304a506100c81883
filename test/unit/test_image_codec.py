"""JPEG decode and encode through TurboJPEG: OpenCV's pixels, OpenCV's fallbacks, and the speed it is there for."""
import threading
import time

import cv2
import numpy as np
import pytest

from camera_server import image_codec, turbojpeg
from camera_server.image_codec import image_content_type
from support.ci import require
from support.frames import make_frame


def camera_like(width=640, height=480):
    """Texture that costs what a camera picture costs to code (flat colour would flatter)."""
    return make_frame(3, width, height, 'detailed')


def cv2_jpeg(img, quality=90):
    return cv2.imencode('.jpg', img, [int(cv2.IMWRITE_JPEG_QUALITY), quality])[1].tobytes()


def cv2_decode(data):
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


@pytest.fixture
def turbo():
    library = turbojpeg.load()
    require(library is not None, 'libturbojpeg is not installed (Debian: libturbojpeg0)')
    assert image_codec.TURBOJPEG is not None, 'image_codec did not load the library that is installed'
    return library


def test_turbojpeg_decodes_to_the_same_pixels_as_opencv(turbo):
    for img in (camera_like(), camera_like(1280, 720), camera_like(33, 17)):
        data = cv2_jpeg(img)
        got = turbo.decode_bgr(data)
        assert got.shape == img.shape and got.dtype == np.uint8
        assert np.array_equal(got, cv2_decode(data))
    grey = cv2.imencode('.jpg', camera_like()[:, :, 1])[1].tobytes()
    assert np.array_equal(image_codec.decode_jpeg(grey), cv2_decode(grey))  # grey JPEG -> BGR, as imdecode


def test_turbojpeg_encodes_what_opencv_reads_back_at_that_quality(turbo):
    img = camera_like()
    for quality, max_error in ((95, 2.5), (50, 6.0)):
        data = turbo.encode(img, quality)
        assert data[:2] == b'\xff\xd8' and data[-2:] == b'\xff\xd9'
        error = np.abs(cv2_decode(data).astype(int) - img).mean()
        assert error < max_error, (quality, error)
        # Same quality, same size class as OpenCV's own encoder (within 10 %).
        assert abs(len(data) - len(cv2_jpeg(img, quality))) < 0.1 * len(data)
    mono = turbo.encode(img[:, :, 0], 80)
    assert cv2.imdecode(np.frombuffer(mono, np.uint8), cv2.IMREAD_UNCHANGED).shape == (480, 640)
    strided = turbo.encode(img[:, ::2], 80)  # not contiguous: copied, not misread
    assert np.abs(cv2_decode(strided).astype(int) - img[:, ::2]).mean() < 4
    assert turbo.encode(img.astype(np.uint16), 80) is None  # left to OpenCV


def test_what_turbojpeg_refuses_goes_to_opencv(turbo):
    img = camera_like()
    png = cv2.imencode('.png', img)[1].tobytes()
    assert turbo.decode_bgr(png) is None
    assert np.array_equal(image_codec.decode_jpeg(png), img)
    assert image_codec.decode_jpeg(b'\xff\xd8 not a jpeg') is None
    truncated = cv2_jpeg(img)[:20000]  # a frame cut short: OpenCV still shows the top part
    assert turbo.decode_bgr(truncated) is None
    partial = image_codec.decode_jpeg(truncated)
    assert partial.shape == img.shape and np.abs(partial[:8].astype(int) - img[:8]).mean() < 3


def test_without_the_library_opencv_does_everything(monkeypatch):
    assert turbojpeg.load(names=('libturbojpeg-does-not-exist.so',)) is None
    monkeypatch.setattr(image_codec, 'TURBOJPEG', None)
    img = camera_like()
    data = image_codec.encode_jpeg(img, 90)
    assert data == cv2_jpeg(img, 90)
    assert np.array_equal(image_codec.decode_jpeg(data), cv2_decode(data))


def test_a_damaged_frame_does_not_fail_the_next_decode(turbo):
    """libjpeg-turbo 2.1 fails the call after one that met damaged entropy data on the same
    handle; the pool destroys such a handle, so a good frame that follows a bad one decodes
    (scaled, as only TurboJPEG can) instead of silently falling back to OpenCV."""
    good = cv2_jpeg(camera_like())
    damaged = good[:600] + b'\0' * 50 + good[650:]  # header intact, scan data zeroed
    for _ in range(3):
        assert turbo.decode_bgr(damaged) is None
        after = turbo.decode_bgr(good, (240, 180))
        assert after is not None and after.shape == (240, 320, 3), \
            'good frame after a damaged one: %s' % (None if after is None else after.shape,)
    assert len(turbo._idle['decompress']) == 1, 'failed handles are not pooled: %d idle' % len(turbo._idle['decompress'])


def test_threads_share_a_pool_of_handles(turbo):
    data = cv2_jpeg(camera_like())
    expected = cv2_decode(data)
    failures = []

    def work():
        for _ in range(30):
            if not np.array_equal(turbo.decode_bgr(data), expected):
                failures.append('wrong pixels')
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    idle = turbo._idle['decompress']
    assert 1 <= len(idle) <= 4, 'handles are reused, at most one per concurrent thread: %d' % len(idle)
    for _ in range(20):
        turbo.decode_bgr(data)
    assert len(turbo._idle['decompress']) == len(idle)


def test_turbojpeg_decodes_faster_than_opencv(turbo):
    """The reason it is here; both measured in this run (CPU time, interleaved)."""
    frames = [cv2_jpeg(make_frame(i, 640, 480, 'detailed')) for i in range(10)]
    spent = {'turbo': 0.0, 'opencv': 0.0}
    for _ in range(5):
        for name, decode in (('turbo', turbo.decode_bgr), ('opencv', cv2_decode)):
            start = time.process_time()
            for data in frames:
                decode(data)
            spent[name] += time.process_time() - start
    assert spent['turbo'] * 1.3 < spent['opencv'], spent


def test_turbojpeg_scaled_decode_for_small_outputs(turbo):
    """A thumbnail's JPEG is decoded at 1/2, 1/4 or 1/8 in libjpeg-turbo's DCT: never smaller than
    asked, close to a full decode shrunk, and cheaper (both measured in this run)."""
    img = camera_like()
    data = cv2_jpeg(img)
    for at_least, shape in (((240, 180), (240, 320, 3)), ((80, 60), (60, 80, 3)), ((81, 60), (120, 160, 3)),
                            ((400, 300), (480, 640, 3)), (None, (480, 640, 3))):
        small = image_codec.decode_jpeg(data, at_least)
        assert small.shape == shape, (at_least, small.shape)
        shrunk = cv2.resize(cv2_decode(data), shape[1::-1], interpolation=cv2.INTER_AREA)
        assert np.abs(small.astype(int) - shrunk).mean() < 3, at_least
    assert turbojpeg.scaled_size(641, 481, (80, 60)) == (81, 61)  # rounded up, as TurboJPEG does
    spent = {'half': 0.0, 'full': 0.0}
    for _ in range(5):
        for name, at_least in (('half', (320, 240)), ('full', None)):
            start = time.process_time()
            for _ in range(10):
                image_codec.decode_jpeg(data, at_least)
            spent[name] += time.process_time() - start
    assert spent['half'] < spent['full'], spent


def test_image_content_type():
    assert image_content_type(b'\xff\xd8\xff') == 'image/jpeg'
    assert image_content_type(b'\x89PNG\r\n\x1a\n....') == 'image/png'
    assert image_content_type(b'GIF89a') is None
