"""A real browser: Debian's headless Chromium, driven in real time over DevTools (support/devtools.py),
opens the viewer page served by ``server.launch device:=test server:=builtin``: the live test
pattern in MJPEG, h264, vp8 and vp9 (Media Source Extensions), at the stream's own rate, with the
page's own figures (fps, kbit/s, latency) checked against measurements made beside it."""
import os
import re
import time

import pytest

from camera_server.web_params import DEFAULT_CONFIG
from camera_server.web_server import CameraWebServer
from support.fake_topics import Camera, FakeTopics
from support.stream_client import MjpegStream
from support.viewer_checks import (VIDEO_MIMES, WATCH_S, assert_live_pattern, assert_rate, check_mjpeg_viewer,
                                   check_video_viewer, player_setting, require_ffmpeg, source_fps)
from support.web_checks import TOPIC, server_launch

pytestmark = pytest.mark.browser
RATE_WINDOWS = 3  # windows of WATCH_S the painted rate is measured over, until one is quiet enough
H264_P95_BEFORE_PERIODS = 190 / (1000 / 30.0)  # h264 capture to screen p95 before issue 17: 190 ms at 30 fps


@pytest.fixture(scope='module')
def pattern():
    with server_launch(device='test') as launched:
        yield launched


def test_viewer_shows_the_live_test_pattern_at_the_source_rate(pattern, browser):
    check_mjpeg_viewer(browser, pattern)


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


@pytest.mark.parametrize('codec, mime', VIDEO_MIMES)
def test_video_viewer_plays_live_at_the_stream_rate(pattern, browser, codec, mime):
    stats, painted, sent = check_video_viewer(browser, pattern, codec, mime)
    # What the page adds to the arrival, in the stream's own frame periods: the player keeps its
    # playhead within BEHIND_FRAMES frames of the newest one it holds (it plays faster beyond 1.5),
    # and painting takes about one more. Arrival itself is the server's and the machine's
    # (the benchmark judges it); the sum was once held to a fixed 250 ms.
    period_ms = 1000.0 / max(sent, 1.0)
    added_periods = (stats['latencyP95Ms'] - stats['receivedP95Ms']) / period_ms
    most_periods = player_setting('BEHIND_FRAMES') + 1
    assert stats['mse'] == 'MediaSource', stats['mse']  # Chromium has no ManagedMediaSource
    assert_rate(painted, sent, '%s frames the page painted, against the rate the server sends' % codec)
    assert added_periods <= most_periods, '%s: the page adds %.1f frame periods of %.0f ms at p95 (at most %d)' % (
        codec, added_periods, period_ms, most_periods)
    if codec == 'h264':
        # Issue 17's contract: with a joiner decoding a group of pictures first, h264's capture to
        # screen stays within the figures measured before (p95 12-190 ms at 30 fps, docs/viewer.md
        # of 2026-12-06), held in the camera's frame periods of this run.
        camera_ms = 1000.0 / source_fps(pattern)
        assert stats['latencyP95Ms'] <= H264_P95_BEFORE_PERIODS * camera_ms, \
            'h264: capture to screen p95 %.0f ms, %.1f camera frame periods of %.0f ms (before issue 17: %.1f)' % (
                stats['latencyP95Ms'], stats['latencyP95Ms'] / camera_ms, camera_ms, H264_P95_BEFORE_PERIODS)


@pytest.mark.parametrize('codec', ['h264', 'vp8', 'vp9'])
def test_video_viewer_paints_the_frames_sent_without_jumping(pattern, browser, codec):
    """Issue 17: at least 95 % of the frames sent painted, with no jump to the live edge, at 640x480
    and 30 fps on a quiet machine. This one is shared with other jobs: the best of RATE_WINDOWS
    windows counts, and a failure lists them all with the load average."""
    require_ffmpeg()
    browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s&type=%s' % (pattern.port, TOPIC, codec))
    browser.wait_for('viewerStats.mode !== %r || viewerStats.liveEdgeMs !== null' % codec, 20,
                     'the %s viewer to show the live picture' % codec)
    time.sleep(2.0)  # past the first second, whose jumps bring a joiner to the live edge
    windows = []
    for _ in range(RATE_WINDOWS):
        before = painted_and_sent(pattern, browser, codec)
        time.sleep(WATCH_S)
        after = painted_and_sent(pattern, browser, codec)
        painted, sent, jumps = [b - a for a, b in zip(before, after)]
        windows.append('%d of %d frames painted, %d jumps (load %.1f)' % (painted, sent, jumps, os.getloadavg()[0]))
        if painted >= 0.95 * sent and jumps == 0:
            break
    print('%s: %s' % (codec, '; '.join(windows)))
    assert painted >= 0.95 * sent and jumps == 0, '%s, %d windows of %.0f s: %s' % (
        codec, len(windows), WATCH_S, '; '.join(windows))


def painted_and_sent(launched, browser, codec):
    """(frames the page painted, frames the server's ``codec`` output made, jumps to the live edge) so far."""
    painted, jumps = browser.evaluate('[viewerStats.frames, viewerStats.jumps]')
    made, = [o['frames_total'] for t in launched.health()['topics'] for o in t['outputs'] if o['type'] == codec]
    return painted, made, jumps


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


def test_video_viewer_falls_back_to_mjpeg_without_media_source_extensions(pattern, browser):
    """An iPhone before iOS 17.1: no MediaSource, no ManagedMediaSource (Chromium has none of the latter)."""
    browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s&type=vp8' % (pattern.port, TOPIC),
                 before_scripts='delete window.MediaSource;')
    browser.wait_for('viewerStats.mode === "mjpeg" && viewerStats.frames > 30', 20, 'the MJPEG fallback to show frames')
    note = browser.evaluate('viewerStats.note')
    assert note == 'This browser has no Media Source Extensions for vp8: showing MJPEG instead.', note


def test_mjpeg_viewer_shows_the_stream_in_an_image_when_a_script_cannot_read_it(pattern, browser):
    """fetch() of the stream fails as WebKit's did on x-mixed-replace ("Load failed"): the picture
    stays live in an <img>, and the page says which figures it cannot have, and why."""
    browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s' % (pattern.port, TOPIC), before_scripts=(
        'var pageFetch = window.fetch; window.fetch = function (url) { return /^\\/stream\\?/.test(url) ?'
        ' Promise.reject(new TypeError("Load failed")) : pageFetch.apply(this, arguments); };'))
    browser.wait_for('viewerStats.width === 640 && / fps unknown, /.test(document.getElementById("info").textContent)',
                     15, 'the <img> to show the 640 x 480 stream')
    first = browser.screenshot()
    time.sleep(WATCH_S)
    note, info, tag = browser.evaluate('[viewerStats.note, document.getElementById("info").textContent,'
                                       ' document.getElementById("view").tagName]')
    assert note == ('Showing the stream in an image without frame rate and latency: reading it in a script failed:'
                    ' stream error: TypeError: Load failed.') and tag == 'IMG', (note, tag)
    assert info == '640 x 480 px, fps unknown, latency unknown (this browser shows the stream without a script)', info
    assert_live_pattern(first, browser.screenshot(), 'mjpeg in an <img>')


def test_viewer_shows_a_refused_stream_once_and_asks_no_more(browser):
    """A stream refused before its first frame (503: the server's one client place is taken): the
    reason, once, and no reconnect loop that would show nothing."""
    topics = FakeTopics()
    server = CameraWebServer(('127.0.0.1', 0), DEFAULT_CONFIG._replace(max_clients=1), topics.topic_types,
                             topics.subscribe)
    server.start()
    camera = Camera(topics).start()
    holder = MjpegStream(server.port, '/stream?topic=' + camera.topic)
    try:
        browser.open('http://127.0.0.1:%d/stream_viewer?topic=%s' % (server.port, camera.topic), before_scripts=(
            'window.streamRequests = 0; var pageFetch = window.fetch; window.fetch = function (url) {'
            ' if (/^\\/stream\\?/.test(url)) { window.streamRequests++; } return pageFetch.apply(this, arguments); };'))
        note = browser.wait_for('viewerStats.note', 10, 'the viewer to say why it shows nothing')
        time.sleep(5.0)  # over twice the time after which it would ask again
        shown = browser.evaluate('[window.streamRequests, viewerStats.note, document.getElementById("info").textContent]')
        assert note.startswith('The stream failed: 503: server busy') and note.endswith('Reload the page to try again.'), note
        assert shown[:2] == [1, note] and '(503: server busy' in shown[2], shown
    finally:
        holder.close()
        camera.stop()
        server.stop()


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
