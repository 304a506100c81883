"""Low frame rates show at once: a 2 fps topic's frame is on a real Chromium's screen within
100 ms of being sent, because the next part's headers follow each frame (advance headers).

Chrome paints a multipart part only once the next part's headers have arrived (crbug 527446),
so with web_video_server's framing each frame shows one period (500 ms) late. The page here
is a plain <img src="/stream?..."> as any page embedding the stream has; a canvas polls the
pixel the image shows every few milliseconds and notes when each colour appears.
"""
import statistics
import threading
import time

import numpy as np
import pytest

from camera_server.framing import PART_END
from camera_server.messages import IMAGE_TYPE, ImageMessage
from support.stream_client import MjpegStream
from support.waits import wait_until

pytestmark = pytest.mark.browser

TOPIC = '/slow/image_raw'
COLOURS = [(0, 0, 255), (0, 255, 0), (255, 0, 0), (0, 255, 255), (255, 255, 0), (255, 0, 255)]  # BGR
PERIOD_S = 0.5  # 2 fps
FRAMES = 14
LIMIT_MS = 100.0  # issue 10's contract for a 2 fps frame on screen

# Polls the colour of the image's centre every 4 ms; each change is noted with the page's clock.
WATCH = '''(function () {
  var img = document.createElement('img'), canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  var context = canvas.getContext('2d', {willReadFrequently: true});
  window.seen = []; var last = '';
  img.onerror = function () { window.seen.push(['error', Date.now()]); };
  setInterval(function () {
    if (!img.naturalWidth) { return; }
    context.drawImage(img, img.naturalWidth / 2, img.naturalHeight / 2, 1, 1, 0, 0, 1, 1);
    var p = context.getImageData(0, 0, 1, 1).data, key = [p[0], p[1], p[2]].join(',');
    if (key !== last) { last = key; window.seen.push([key, Date.now()]); }
  }, 4);
  img.src = %s;
  document.body.appendChild(img);
  return true;
})()'''


def solid(bgr, stamp):
    image = np.empty((240, 320, 3), np.uint8)
    image[:] = bgr
    return ImageMessage(stamp, 'bgr8', 240, 320, 960, image.tobytes(), 0)


def nearest_colour(rgb_text):
    rgb = [int(v) for v in rgb_text.split(',')]
    distances = [sum(abs(a - b) for a, b in zip(rgb, (c[2], c[1], c[0]))) for c in COLOURS]
    best = min(range(len(COLOURS)), key=lambda i: distances[i])
    return best if distances[best] < 60 else None


def paint_delays(h, browser, query):
    """Milliseconds from each frame's publication to its colour showing in the page's <img>."""
    browser.open('http://127.0.0.1:%d/' % h.port)
    browser.evaluate(WATCH % ('"/stream?topic=%s%s"' % (TOPIC, query)))
    sent = []
    wait_until(lambda: h.topics.subscriptions(TOPIC), 10, 'the page subscribed %s' % TOPIC, interval=0.02)
    next_time = time.time()
    for index in range(FRAMES):
        time.sleep(max(0.0, next_time - time.time()))
        now = time.time()
        h.topics.publish(TOPIC, solid(COLOURS[index % len(COLOURS)], now))
        sent.append(now)
        next_time += PERIOD_S
    time.sleep(PERIOD_S)
    seen = browser.evaluate('window.seen')
    delays = {}
    for key, painted_ms in seen:
        colour = nearest_colour(key) if key != 'error' else None
        if colour is None:
            continue
        # The frame of that colour last published before the paint.
        index = max([i for i in range(FRAMES) if i % len(COLOURS) == colour and sent[i] * 1000 <= painted_ms + 5] or [None],
                    key=lambda i: -1 if i is None else i)
        if index is not None and index not in delays:
            delays[index] = painted_ms - sent[index] * 1000.0
    return [delays.get(i) for i in range(FRAMES)], seen


def test_two_fps_frame_on_chromium_screen_within_100_ms(harness, browser):
    h = harness()
    h.topics.types[TOPIC] = IMAGE_TYPE
    delays, seen = paint_delays(h, browser, '')
    judged = delays[1:]  # the first frame races the connection
    shown = [d for d in judged if d is not None]
    assert len(shown) == len(judged), 'frames never shown: %s (seen %s)' % (
        [i + 1 for i, d in enumerate(judged) if d is None], seen)
    worst = sorted(shown)[-2]  # one late paint allowed to a shared machine
    assert statistics.median(shown) < LIMIT_MS and worst < LIMIT_MS, \
        'paint delays (ms) of a 2 fps stream in an <img>, the contract under %.0f ms: %s' % (
            LIMIT_MS, ['%.0f' % d for d in shown])
    # The same page without advance headers, web_video_server's framing, measured beside as the
    # baseline: each frame shows only with the next part's headers, one period later, at any speed.
    browser.evaluate('window.seen = []; document.body.innerHTML = ""; true')
    plain, _ = paint_delays(h, browser, '&advance_headers=0')
    plain_shown = [d for d in plain[1:] if d is not None]
    gained = statistics.median(plain_shown) - statistics.median(shown) if plain_shown else float('nan')
    figures = 'advance headers: median %.0f ms; web_video_server framing: median %.0f ms; gained %.0f ms of a ' \
        '%.0f ms period' % (statistics.median(shown), statistics.median(plain_shown) if plain_shown else float('nan'),
                            gained, 1000 * PERIOD_S)
    print(figures)
    assert gained > 0.5 * 1000 * PERIOD_S, figures


def test_advance_headers_bytes_only_for_image_requests_or_when_asked(harness):
    h = harness()
    h.topics.types[TOPIC] = IMAGE_TYPE
    publishing = threading.Event()

    def publish():
        stamp = 1000.0
        while not publishing.is_set():
            h.topics.publish(TOPIC, solid(COLOURS[0], stamp))
            stamp += 1
            publishing.wait(0.05)
    thread = threading.Thread(target=publish)
    thread.start()
    try:
        for headers, query, advance in (((), '', False), ((('Accept', '*/*'),), '', False),
                                        ((('Accept', 'image/avif,image/webp,*/*;q=0.8'),), '', True),
                                        ((), '&advance_headers=1', True),
                                        ((('Accept', 'image/webp,*/*'),), '&advance_headers=0', False)):
            stream = MjpegStream(h.port, '/stream?topic=%s%s' % (TOPIC, query), headers=headers)
            try:
                data = b''
                while data.count(PART_END) < 3:
                    data += stream.reader.read1(65536)
            finally:
                stream.close()
            parts = data.split(PART_END)[:3]
            heads = [part.partition(b'\r\n\r\n')[0] for part in parts]
            if advance:
                assert stream.first_boundary == b'--boundarydonotcross\r\n' and \
                    all(head == b'Content-type: image/jpeg' for head in heads), (headers, query, heads)
                assert all(part.partition(b'\r\n\r\n')[2][:2] == b'\xff\xd8' for part in parts), (headers, query)
            else:
                assert all(head.startswith(b'Content-type: image/jpeg\r\nX-Timestamp: ') and b'Content-Length: ' in head
                           for head in heads), (headers, query, heads)
    finally:
        publishing.set()
        thread.join(5)


@pytest.mark.parametrize('value', ['2', 'yes', 'x\r\nInjected: 1'])
def test_bad_advance_headers_value_is_400(harness, value):
    from support.stream_client import http_get
    h = harness()
    h.topics.types[TOPIC] = IMAGE_TYPE
    status, _, body = http_get(h.port, '/stream?topic=%s&advance_headers=%s' % (TOPIC, value.replace('\r\n', '%0D%0A')))
    assert status == 400 and b'advance_headers' in body and body.count(b'\n') == 1, (status, body)
