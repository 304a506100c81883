"""Checks of the pages in a real browser, shared by every engine's tests (test_browser.py for
Chromium, test_webkit.py for WebKit): ``browser`` is a support.devtools.Chromium or a
support.webkit.WebKit, the same API. The server is ``server.launch device:=test`` (web_checks):
its test pattern's colour bars, counter and clock show whether a picture is real and live."""
import os
import re
import time

import numpy as np

from camera_server.web_files import WWW
from support.ci import require
from support.video_checks import ffmpeg_available
from support.web_checks import TOPIC

# The test pattern's bars left to right (BGR); the first (white) merges with the page background.
BARS = [(0, 255, 255), (255, 255, 0), (0, 255, 0), (255, 0, 255), (0, 0, 255), (255, 0, 0), (0, 0, 0)]
BAR_WIDTH = 640 // 8  # at the image's real size
WATCH_S = 4.0  # s of wall clock over which the page's painted frames are counted
WARM_UP_S = 4.0  # s a video viewer plays before it is measured
# The page's fps figure counts the last 2 s (viewer.js FPS_WINDOW): read earlier, it would hold
# frames from before the counted window (a catch-up burst after a stall read 38.5 fps there).
PAGE_FPS_WINDOW_S = 2


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


def assert_rate(measured, baseline, what):
    """``measured`` frames/s within a quarter of ``baseline``, give or take one frame (counts are whole frames)."""
    assert abs(measured - baseline) <= 0.25 * baseline + 1.0, '%s: %.1f frames/s against %.1f' % (
        what, measured, baseline)


def source_fps(launched):
    """The rate of the subscription serving the viewer (the camera's JPEG topic when it forwards that)."""
    topics = launched.health()['topics']
    return [t for t in topics if t['topic'] in (TOPIC, TOPIC + '/compressed')][0]['input_fps']


def check_mjpeg_viewer(browser, launched):
    """The MJPEG viewer of ``launched``'s test pattern in ``browser``: live, at the source rate, with
    the rate it painted on screen. Returns the page's viewerStats."""
    browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s' % (launched.port, TOPIC))
    assert browser.evaluate('document.querySelector("h1").textContent') == TOPIC
    browser.wait_for('/640 x 480 px/.test(document.getElementById("info").textContent)', 15,
                     'the viewer to show a 640 x 480 frame')
    # Count the frames the page paints (each one is a new blob: URL on the <img>) over wall-clock time.
    browser.evaluate('window.paints = 0; new MutationObserver(function () { window.paints++; })'
                     '.observe(document.getElementById("view"), {attributes: true, attributeFilter: ["src"]}); 0')
    first = browser.screenshot()
    started = time.time()
    time.sleep(WATCH_S)
    painted = browser.evaluate('window.paints') / (time.time() - started)
    second = browser.screenshot()
    info, stats = browser.evaluate('[document.getElementById("info").textContent, viewerStats]')
    source = source_fps(launched)
    print('mjpeg: %s; %.1f frames/s painted of %.1f' % (info, painted, source))
    shown = float(re.search(r'([\d.]+) fps', info).group(1))
    assert_rate(painted, source, 'frames the page painted in real time, against the source rate')
    assert_rate(shown, painted, 'the page says %r; against the frames it painted' % info)
    assert_live_pattern(first, second, 'mjpeg')
    return stats


def assert_live_pattern(first, second, what):
    """Two screenshots WATCH_S apart both show the colour bars at real size, and differ."""
    for name, image in (('first', first), ('second', second)):
        rows = pattern_rows(image)
        assert rows >= 200, '%s, %s screenshot: %d rows show the colour bars at real size' % (what, name, rows)
    changed = int(np.count_nonzero(np.any(np.abs(first.astype(int) - second.astype(int)) > 40, axis=2)))
    assert changed > 500, '%s: screenshots %.0f s apart differ in only %d pixels: the image is not live' % (
        what, WATCH_S, changed)


def player_setting(name):
    """The number the video player's script (www/mse_player.js) sets ``name`` to."""
    with open(os.path.join(WWW, 'mse_player.js')) as script:
        return int(re.search(r'var %s = (\d+);' % name, script.read()).group(1))


def video_state(browser):
    return browser.evaluate('(function (v) { return {time: v.currentTime, width: v.videoWidth, height: v.videoHeight,'
                            ' tag: v.tagName, stats: viewerStats, wall: performance.now() / 1000}; })'
                            '(document.getElementById("view"))')


def require_ffmpeg():
    require(ffmpeg_available(), "Debian's ffmpeg is not installed (apt-get install ffmpeg): no video streams")


def output_fps(launched, stream_type):
    """The rate at which the server sends the ``stream_type`` output of the topic (its encoder's own rate)."""
    outputs = [o for t in launched.health()['topics'] for o in t['outputs'] if o['type'] == stream_type]
    assert len(outputs) == 1, outputs
    return outputs[0]['frames_per_s']


LATENCY_FIGURES = ('latencyMs', 'latencyP95Ms', 'receivedMs', 'receivedP95Ms')  # in viewerStats, ms
VIDEO_MIMES = [('h264', 'video/mp4; codecs="avc1.'), ('vp8', 'video/webm; codecs="vp8"'),
               ('vp9', 'video/webm; codecs="vp9"')]


def check_video_viewer(browser, launched, codec, mime, slowest_pace=0.8):
    """The ``codec`` viewer of ``launched``'s test pattern in ``browser``: it plays live at 640 x 480,
    the capture time of the frame on screen follows the clock, and the fps it shows is what it
    painted. ``slowest_pace``: the least the frame on screen may advance per second of wall clock.
    Returns (viewerStats, frames/s painted, frames/s sent)."""
    require_ffmpeg()
    browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s&type=%s' % (launched.port, TOPIC, codec))
    browser.wait_for('viewerStats.mode !== %r || viewerStats.frames > 0' % codec, 20,
                     'the %s viewer to show a frame' % codec)
    time.sleep(WARM_UP_S)  # the latency figures (over the last 100 frames) no longer hold the first ones
    first_image = browser.screenshot()  # outside the counted window: a screenshot may hold back painting
    first = video_state(browser)
    assert first['stats']['mode'] == codec and first['tag'] == 'VIDEO', 'the viewer fell back: %r' % first
    figures = []  # the fps the page shows, once a second, once its window lies inside the counted one
    for second in range(1, int(WATCH_S) + 1):
        time.sleep(1.0)
        if second >= PAGE_FPS_WINDOW_S:
            figures.append(browser.evaluate('viewerStats.fps'))
    last = video_state(browser)
    stats, elapsed = last['stats'], last['wall'] - first['wall']
    sent = output_fps(launched, codec)
    painted = (stats['frames'] - first['stats']['frames']) / elapsed
    print('%s: capture to screen: median %s ms, p95 %s ms; capture to arrival in the page: median %s ms, p95 %s ms;'
          ' %d jumps to the live edge; %.1f fps painted of %.1f sent; media time from %s'
          % ((codec,) + tuple(None if stats[k] is None else round(stats[k]) for k in LATENCY_FIGURES)
             + (stats['jumps'], painted, sent, stats['mediaTime'])))
    assert stats['mime'].startswith(mime), stats
    assert (last['width'], last['height']) == (640, 480), last
    assert last['time'] > first['time'], 'the video time stood at %.3f s' % first['time']
    # Either end may be a frame early or late: two frame periods of slack over the window.
    advanced, slack = (stats['stamp'] - first['stats']['stamp']) / elapsed, 2.0 / max(sent, 1.0) / elapsed
    assert slowest_pace - slack <= advanced <= 1.2 + slack, \
        'the capture time of the frame on screen advanced %.2f s per second of wall clock (at least %.2f)' % (
            advanced, slowest_pace)
    assert_rate(sum(figures) / len(figures), painted, 'the fps the page shows (%s), against the frames it painted'
                % ', '.join('%.1f' % f for f in figures))
    assert_live_pattern(first_image, browser.screenshot(), codec)
    return stats, painted, sent




def thumbnails(browser):
    """[(topic, caption, naturalWidth, rect)] of the page's thumbnails."""
    return browser.evaluate(
        'Array.prototype.map.call(document.querySelectorAll(".camera"), function (c) {'
        ' var img = c.querySelector("img"), r = img.getBoundingClientRect();'
        ' return [c.querySelector(".figures").getAttribute("data-topic"), c.querySelector(".figures").textContent,'
        ' img.naturalWidth, [Math.round(r.left), Math.round(r.top), Math.round(r.width), Math.round(r.height)]]; })')


def crop(image, rect):
    left, top, width, height = rect
    return image[top:top + height, left:left + width]
