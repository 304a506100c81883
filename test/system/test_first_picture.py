"""A page joining a running video stream, in headless Chromium over DevTools, on the test pattern of
``server.launch device:=test server:=builtin`` (640x480, 30 fps): its first picture comes at once
and is the live one, for h264, vp8 and vp9, with the default keyframe interval; a viewer already
watching loses nothing meanwhile."""
import random
import time

import pytest

from support.stream_client import VideoStream
from support.video_checks import percentile, quiet_window, watched
from support.viewer_checks import require_ffmpeg
from support.web_checks import TOPIC, server_launch

pytestmark = pytest.mark.browser

JOINS = 20  # issue 17: at least 20 joins at random moments, per codec
# Issue 17's contracts, not figures of this machine: the first picture painted within 0.4 s of the
# page asking for the stream at the 95th percentile, and the joiner at the live edge within 1 s.
FIRST_PICTURE_P95_MS = 400
LIVE_EDGE_MS = 1000
START_S = 40.0  # for ffmpeg to start and the watcher to see two keyframes, on a loaded machine


@pytest.fixture(scope='module')
def pattern():
    with server_launch(device='test') as launched:
        yield launched


@pytest.mark.parametrize('codec', ['h264', 'vp8', 'vp9'])
def test_a_joining_page_paints_the_live_picture_at_once(pattern, browser, codec):
    require_ffmpeg()
    watcher = VideoStream(pattern.port, '/stream?topic=%s&type=%s' % (TOPIC, codec))
    viewer = 'http://127.0.0.1:%d/stream_viewer?topic=%s&type=%s' % (pattern.port, TOPIC, codec)
    figures = []  # [first picture ms, live edge ms, jumps] from the page's request for the stream
    try:
        quiet, start, period = quiet_window(watcher, pattern, codec, START_S)
        for _ in range(JOINS):
            time.sleep(random.uniform(0, start[4] * period))  # anywhere in a group of pictures
            browser.open(viewer)
            figures.append(browser.wait_for(
                'viewerStats.mode !== %r ? "fell back: " + viewerStats.note : viewerStats.liveEdgeMs !== null'
                ' && [viewerStats.firstFrameMs, viewerStats.liveEdgeMs, viewerStats.jumps]' % codec,
                10, 'the %s page to show the live picture' % codec))
        end = watched(watcher, pattern, codec)
    finally:
        watcher.close()
    assert all(isinstance(f, list) for f in figures), figures
    first, live = [f[0] for f in figures], [f[1] for f in figures]
    print('%s: first picture painted after median %.0f ms, p95 %.0f ms; at the live edge after median %.0f ms, '
          'p95 %.0f ms, at most %.0f ms; jumps %s' % (codec, percentile(first, 0.5), percentile(first, 0.95),
                                                      percentile(live, 0.5), percentile(live, 0.95), max(live),
                                                      [f[2] for f in figures]))
    assert percentile(first, 0.95) <= FIRST_PICTURE_P95_MS, \
        '%s: first picture p95 %.0f ms after the page asked (contract: %d ms): %s' % (
            codec, percentile(first, 0.95), FIRST_PICTURE_P95_MS, sorted(first))
    assert percentile(live, 0.95) <= LIVE_EDGE_MS, '%s: at the live edge p95 %.0f ms after the page asked ' \
        '(contract: %d ms): %s' % (codec, percentile(live, 0.95), LIVE_EDGE_MS, sorted(live))
    # The watcher got every frame made meanwhile. Its rate is not compared here: 20 page loads
    # share the two cores with the camera and encoder (test_video_join.py compares it).
    made, got = end[3] - start[3], end[1] - start[1]
    assert abs(got - made) <= 1, 'the watcher got %d of the %d frames made while pages joined' % (got, made)
