"""A real browser: Debian's headless Chromium, driven in real time over DevTools (devtools.py),
opens the viewer page served by ``server.launch device:=test server:=builtin``: the live test
pattern in MJPEG, h264 and vp8 (Media Source Extensions), at the stream's own rate, with the
page's own figures (fps, kbit/s, latency) checked against measurements made beside it."""
import re
import time

import numpy as np
import pytest

from camera_server.web_server import DEFAULT_CONFIG, CameraWebServer
from support.ci import require
from support.fake_topics import Camera, FakeTopics
from support.stream_client import MjpegStream
from support.video_checks import ffmpeg_available
from support.web_checks import TOPIC, server_launch

pytestmark = pytest.mark.browser

# The test pattern's bars left to right (BGR); the first (white) merges with the page background.
BARS = [(0, 255, 255), (255, 255, 0), (0, 255, 0), (255, 0, 255), (0, 0, 255), (255, 0, 0), (0, 0, 0)]
BAR_WIDTH = 640 // 8  # at the image's real size
WATCH_S = 4.0  # s of wall clock over which the page's painted frames are counted
WARM_UP_S = 4.0  # s a video viewer plays before it is measured


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


def assert_rate(measured, baseline, what):
    """``measured`` frames/s within a quarter of ``baseline``, give or take one frame (counts are whole frames)."""
    assert abs(measured - baseline) <= 0.25 * baseline + 1.0, '%s: %.1f frames/s against %.1f' % (
        what, measured, baseline)


def source_fps(launched):
    """The rate of the subscription serving the viewer (the camera's JPEG topic when it forwards that)."""
    topics = launched.health()['topics']
    return [t for t in topics if t['topic'] in (TOPIC, TOPIC + '/compressed')][0]['input_fps']


def test_viewer_shows_the_live_test_pattern_at_the_source_rate(pattern, browser):
    browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s' % (pattern.port, TOPIC))
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
    info = browser.evaluate('document.getElementById("info").textContent')
    source = source_fps(pattern)
    shown = float(re.search(r'([\d.]+) fps', info).group(1))
    assert_rate(painted, source, 'frames the page painted in real time, against the source rate')
    assert_rate(shown, painted, 'the page says %r; against the frames it painted' % info)
    for name, image in (('first', first), ('second', second)):
        rows = pattern_rows(image)
        assert rows >= 200, '%s screenshot: %d rows show the colour bars at real size' % (name, rows)
    changed = int(np.count_nonzero(np.any(np.abs(first.astype(int) - second.astype(int)) > 40, axis=2)))
    assert changed > 500, 'screenshots %.0f s apart differ in only %d pixels: the image is not live' % (WATCH_S, changed)


def stream_kbps(port, target, seconds):
    """kbit/s a plain HTTP client reads from the multipart stream ``target`` (part headers and payloads)."""
    stream = MjpegStream(port, target)
    received = 0
    try:
        started = time.time()
        while time.time() - started < seconds:
            headers, payload = stream.read_frame()
            received += len(payload) + sum(len(k) + len(v) + 4 for k, v in headers.items()) + 30
        return received * 8 / 1000.0 / (time.time() - started)
    finally:
        stream.close()


def test_plain_viewer_shows_its_bitrate_and_switches_to_video(pattern, browser):
    require_ffmpeg()
    viewer = '/stream_viewer?topic=%s' % TOPIC
    browser.open('http://127.0.0.1:%d%s' % (pattern.port, viewer))
    browser.wait_for('viewerStats.frames > 30 && viewerStats.kbps > 0', 15, 'the viewer to count 30 frames')
    client = stream_kbps(pattern.port, '/stream?topic=%s' % TOPIC, 3.0)
    shown, info = browser.evaluate('[viewerStats.kbps, document.getElementById("info").textContent]')
    assert 0.75 * client <= shown <= 1.33 * client, \
        'the page says %.0f kbit/s, a plain client reads %.0f kbit/s of the same stream' % (shown, client)
    assert re.search(r'\b%d kbit/s' % round(shown), info), info
    switch = browser.evaluate('Array.prototype.map.call(document.querySelectorAll("#modes a"), '
                              'function (a) { return [a.textContent, a.getAttribute("href")]; })')
    assert ['H.264 video', viewer + '&type=h264'] in switch and ['VP8 video', viewer + '&type=vp8'] in switch, switch
    browser.evaluate('document.querySelector("#modes a[href$=\'type=h264\']").click(); 0')
    browser.wait_for('location.search === "?topic=%s&type=h264" && window.viewerStats && viewerStats.frames > 0'
                     % TOPIC, 20, 'the switch to open the H.264 viewer and show a frame')


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


@pytest.mark.parametrize('codec, mime', [('h264', 'video/mp4; codecs="avc1.'), ('vp8', 'video/webm; codecs="vp8"')])
def test_video_viewer_plays_live_at_the_stream_rate(pattern, browser, codec, mime):
    require_ffmpeg()
    browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s&type=%s' % (pattern.port, TOPIC, codec))
    browser.wait_for('viewerStats.mode !== %r || viewerStats.frames > 0' % codec, 20,
                     'the %s viewer to show a frame' % codec)
    time.sleep(WARM_UP_S)  # the latency figures (over the last 100 frames) no longer hold the first ones
    first = video_state(browser)
    assert first['stats']['mode'] == codec and first['tag'] == 'VIDEO', 'the viewer fell back: %r' % first
    figures = []  # the fps the page shows, once a second
    for _ in range(int(WATCH_S)):
        time.sleep(1.0)
        figures.append(browser.evaluate('viewerStats.fps'))
    last = video_state(browser)
    stats, elapsed = last['stats'], last['wall'] - first['wall']
    sent = output_fps(pattern, codec)
    assert stats['mime'].startswith(mime), stats
    assert (last['width'], last['height']) == (640, 480), last
    assert last['time'] > first['time'], 'the video time stood at %.3f s' % first['time']
    painted = (stats['frames'] - first['stats']['frames']) / elapsed
    # Either end may be a frame early or late: two frame periods of slack over the window.
    advanced, slack = (stats['stamp'] - first['stats']['stamp']) / elapsed, 2.0 / max(sent, 1.0) / elapsed
    assert abs(advanced - 1) <= 0.2 + slack, \
        'the capture time of the frame on screen advanced %.2f s per second of wall clock' % advanced
    latency = ('capture to screen: median %.0f ms, p95 %.0f ms (target: p95 < 250 ms); capture to arrival in the'
               ' page: median %.0f ms, p95 %.0f ms; %d jumps to the live edge; %.1f fps painted of %.1f sent'
               % (stats['latencyMs'], stats['latencyP95Ms'], stats['receivedMs'], stats['receivedP95Ms'],
                  stats['jumps'], painted, sent))
    print('%s: %s' % (codec, latency))
    if codec == 'vp8':
        # Headless Chromium's software VP8 path painted 20-24 of 30 frames/s here, loaded or not,
        # while H.264 paints them all: a known weakness (README), held to at least half the rate.
        assert painted >= 0.5 * sent, '%s: %.1f frames/s painted of %.1f sent' % (codec, painted, sent)
    else:
        assert_rate(painted, sent, '%s frames the page painted, against the rate the server sends' % codec)
    assert_rate(sum(figures) / len(figures), painted, 'the fps the page shows (%s), against the frames it painted'
                % ', '.join('%.1f' % f for f in figures))
    assert stats['latencyP95Ms'] < 250, latency
    rows = pattern_rows(browser.screenshot())
    assert rows >= 200, 'the %s screenshot: %d rows show the colour bars at real size' % (codec, rows)


def test_video_viewer_falls_back_to_mjpeg_without_the_codec(pattern, browser):
    browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s&type=h264' % (pattern.port, TOPIC),
                 before_scripts='MediaSource.isTypeSupported = function () { return false; };')
    browser.wait_for('viewerStats.mode === "mjpeg" && viewerStats.frames > 30', 20, 'the MJPEG fallback to show frames')
    shown = browser.evaluate('[document.getElementById("note").textContent, document.getElementById("view").tagName,'
                             ' viewerStats.width, viewerStats.height]')
    assert shown[0].startswith('This browser cannot play video/mp4') and 'showing MJPEG instead' in shown[0], shown
    assert shown[1:] == ['IMG', 640, 480], shown
    requests = [c['request'] for c in pattern.health()['client_list']]
    assert requests == ['/stream?topic=%s&type=mjpeg' % TOPIC], 'the fallback should ask for MJPEG only: %r' % requests


def test_topic_list_links_to_the_viewer(pattern, browser):
    browser.open('http://127.0.0.1:%d/' % pattern.port)
    links = browser.evaluate('Array.prototype.map.call(document.querySelectorAll("a"), '
                             'function (a) { return a.getAttribute("href"); })')
    assert '/stream_viewer?topic=/camera/image_raw' in links, links


def test_video_viewer_falls_back_to_mjpeg_when_the_server_has_no_ffmpeg(browser):
    with server_launch(device='test', ffmpeg='/nonexistent/ffmpeg') as launched:
        browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s&type=h264' % (launched.port, TOPIC))
        browser.wait_for('viewerStats.mode === "mjpeg" && viewerStats.frames > 10', 20,
                         'the MJPEG fallback to show frames')
        note = browser.evaluate('document.getElementById("note").textContent')
        assert note.startswith('The server cannot send h264 (501: ') and note.endswith('showing MJPEG instead.'), note


@pytest.mark.parametrize('codec', ['h264', 'vp8'])
def test_video_viewer_follows_a_size_change(browser, codec):
    """The server's in-process web server with a fake camera that changes its frame size mid-stream."""
    require_ffmpeg()
    topics = FakeTopics()
    server = CameraWebServer(('127.0.0.1', 0), DEFAULT_CONFIG, topics.topic_types, topics.subscribe)
    server.start()
    camera = Camera(topics, compressed=False, video=True).start()
    try:
        browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s&type=%s' % (server.port, camera.topic, codec))
        browser.wait_for('viewerStats.mode !== %r || (viewerStats.width === 320 && viewerStats.frames > 10)' % codec,
                         20, 'the %s viewer to show 320 x 240 frames' % codec)
        before = browser.evaluate('viewerStats.frames')
        camera.width, camera.height = 480, 360
        browser.wait_for('viewerStats.mode !== %r || (viewerStats.width === 480 && viewerStats.frames > %d)'
                         % (codec, before + 10), 20, 'the %s viewer to show 480 x 360 frames' % codec)
        shown = browser.evaluate('[viewerStats.mode, viewerStats.height, document.getElementById("view").videoHeight,'
                                 ' viewerStats.note]')
        assert shown == [codec, 360, 360, ''], shown
    finally:
        camera.stop()
        server.stop()


@pytest.mark.parametrize('stream_type', ['mjpeg', 'h264'])
def test_viewer_reconnects_when_the_server_comes_back(browser, stream_type):
    """The in-process web server is stopped (every stream cut) and started again on the same port."""
    if stream_type != 'mjpeg':
        require_ffmpeg()
    topics = FakeTopics()
    camera = Camera(topics, compressed=False, video=True).start()
    servers = [CameraWebServer(('127.0.0.1', 0), DEFAULT_CONFIG, topics.topic_types, topics.subscribe)]
    servers[0].start()
    port = servers[0].port
    try:
        browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s&type=%s' % (port, camera.topic, stream_type))
        browser.wait_for('viewerStats.frames > 10', 20, 'the %s viewer to show frames' % stream_type)
        servers[0].stop()
        ended = browser.wait_for('viewerStats.ended', 10, 'the viewer to notice the stream is gone')
        before = browser.evaluate('viewerStats.frames')
        servers.append(CameraWebServer(('127.0.0.1', port), DEFAULT_CONFIG, topics.topic_types, topics.subscribe))
        servers[1].start()
        browser.wait_for('viewerStats.frames > %d && !viewerStats.ended' % (before + 30), 20,
                         'the viewer to reconnect and show 30 more frames')
        assert browser.evaluate('viewerStats.mode') == stream_type and 'reconnecting' in ended, ended
    finally:
        camera.stop()
        for server in servers:
            server.stop()
