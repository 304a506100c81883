"""A real browser: Debian's headless Chromium opens the viewer page served by
``server.launch device:=test server:=builtin`` and the screenshots show the live test pattern."""
import shutil
import subprocess
import tempfile

import cv2
import numpy as np
import pytest

from conftest import require
from web_checks import TOPIC, server_launch

# Chromium that talks to nobody but the server under test and leaves no state behind.
CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
                  '--disable-background-networking', '--disable-component-update', '--disable-sync',
                  '--window-size=900,700']
# The test pattern's bars left to right (BGR); the first (white) merges with the page background.
BARS = [(0, 255, 255), (255, 255, 0), (0, 255, 0), (255, 0, 255), (0, 0, 255), (255, 0, 0), (0, 0, 0)]
BAR_WIDTH = 640 // 8  # at the image's real size


def chromium(url, *flags):
    """Chromium's stdout for ``url`` with ``flags``, in a fresh profile; runs out of patience after 60 s."""
    binary = shutil.which('chromium')
    require(binary, "Debian's chromium is not installed (apt-get install chromium)")
    profile = tempfile.mkdtemp(prefix='camera_server_chromium_')
    try:
        # Virtual time lets the page run 3 s of script and stream without a wall-clock wait.
        done = subprocess.run([binary] + CHROMIUM_FLAGS + ['--user-data-dir=' + profile,
                                                           '--virtual-time-budget=3000'] + list(flags) + [url],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        assert done.returncode == 0, 'chromium exited %d: %s' % (done.returncode, done.stderr[-2000:])
        return done.stdout.decode('utf-8', 'replace')
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(url, path):
    chromium(url, '--screenshot=' + path)
    image = cv2.imread(path)
    assert image is not None, 'no screenshot written to %s' % path
    return image


def pattern_rows(image):
    """Rows of ``image`` that show the seven coloured bars in order, each at the real width (80 px)."""
    rows = 0
    for row in image:
        colours = np.where(row > 127, 255, 0)
        changes = np.flatnonzero(np.any(colours[1:] != colours[:-1], axis=1)) + 1
        edges = np.concatenate([[0], changes, [len(row)]])
        runs = [(tuple(colours[a]), b - a) for a, b in zip(edges[:-1], edges[1:])]
        for i in range(len(runs) - len(BARS) + 1):
            window = runs[i:i + len(BARS)]
            if [c for c, _ in window] == BARS and all(abs(w - BAR_WIDTH) <= 2 for _, w in window[:-1]):
                rows += 1
                break
    return rows


@pytest.fixture(scope='module')
def pattern():
    with server_launch(device='test') as launched:
        yield launched


def pattern_screenshot(url, path, attempts=4):
    """A screenshot showing the pattern, and the rows that show it.

    Virtual time does not always wait for the first frame to arrive, so a screenshot
    taken before it is retried (a few seconds at most).
    """
    for _ in range(attempts):
        image = screenshot(url, path)
        rows = pattern_rows(image)
        if rows >= 200:
            break
    return image, rows


def test_viewer_shows_the_live_test_pattern(pattern, tmp_path):
    url = 'http://127.0.0.1:%d/stream_viewer?topic=%s' % (pattern.port, TOPIC)
    first, first_rows = pattern_screenshot(url, str(tmp_path / 'first.png'))
    second, second_rows = pattern_screenshot(url, str(tmp_path / 'second.png'))
    for name, rows in (('first', first_rows), ('second', second_rows)):
        assert rows >= 200, '%s screenshot: %d rows show the colour bars at real size' % (name, rows)
    changed = int(np.count_nonzero(np.any(np.abs(first.astype(int) - second.astype(int)) > 40, axis=2)))
    assert changed > 500, 'the two screenshots differ in only %d pixels: the image is not live' % changed
    for _ in range(4):  # like the screenshots: the first frame may come after virtual time ran out
        dom = chromium(url, '--dump-dom')
        if '640 x 480 px' in dom:
            break
    assert '640 x 480 px' in dom and '<h1>/camera/image_raw</h1>' in dom, dom[-1500:]


def test_topic_list_links_to_the_viewer(pattern, tmp_path):
    dom = chromium('http://127.0.0.1:%d/' % pattern.port, '--dump-dom')
    assert 'href="/stream_viewer?topic=/camera/image_raw"' in dom, dom[-1500:]
