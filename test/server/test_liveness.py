"""A topic that goes silent: /health says stale, /snapshot refuses, viewers stay connected and
get a placeholder once a second, and live frames come back by themselves (built-in server,
fake topics, real HTTP clients)."""
import threading
import time

import numpy as np

from camera_server import liveness, placeholder
from support.ci import require
from support.fake_topics import frame_index
from support.frames import make_frame
from support.stream_client import MjpegStream, capture, http_get
from support.video_checks import complete_mp4, decode_frames, ffmpeg_available, write_temp
from support.waits import wait_until
from support.web_checks import decode, mean_diff

TOPIC = '/camera/image_raw'
MAGIC = {'image/png': b'\x89PNG\r\n\x1a\n', 'image/jpeg': b'\xff\xd8\xff'}


def topic_health(h, topic=TOPIC):
    return [t for t in h.health()['topics'] if t['topic'] == topic][0]


def expected_placeholder(width, height, since_wall, reason):
    """The placeholders a viewer may see for ``since_wall`` (one second either side: the clock may tick)."""
    return [placeholder.draw(width, height, placeholder.message_lines(TOPIC, since_wall + delta, reason))
            for delta in (-1, 0, 1)]


def test_silent_topic_stale_placeholder_once_a_second_then_live_again(harness):
    h = harness(stale_after=0.5)
    cam = h.camera(compressed=False)
    streams = [MjpegStream(h.port, '/stream?topic=%s' % TOPIC) for _ in range(3)]
    try:
        for stream in streams:
            headers, payload = stream.read_frame()
            assert mean_diff(decode(payload), make_frame(frame_index(float(headers['x-timestamp'])))) < 3
        cam.paused.set()
        h.topics.gone.add(TOPIC)  # the camera's node went away: the reason is known
        paused_wall = time.time()
        wait_until(lambda: topic_health(h)['stale'], 3, '/health says stale')
        health = h.health()
        topic = topic_health(h)
        assert topic['stale_reason'] == 'publisher gone' and topic['last_message_age_s'] >= 0.5, topic
        assert health['stale_topics'] == [TOPIC], health

        started = time.time()
        status, _, body = http_get(h.port, '/snapshot?topic=%s' % TOPIC)
        elapsed = time.time() - started
        assert status == 503 and body == b'topic /camera/image_raw has no signal: publisher gone\n', (status, body)
        # At once: a snapshot that waited for a frame would take snapshot_timeout.
        assert elapsed < h.server.config.snapshot_timeout / 2, 'the stale snapshot took %.2f s; snapshot_timeout ' \
            '%.1f s' % (elapsed, h.server.config.snapshot_timeout)

        # Placeholders carry the time they were made (the fake frames 1000 + index): their rate
        # from the stamps does not depend on what the socket buffers held before.
        seconds = 4.0
        results = [None] * len(streams)

        def read(i):
            results[i] = [p for p in streams[i].read_for(seconds) if float(p[0]['x-timestamp']) > 1e6]
        readers = [threading.Thread(target=read, args=(i,)) for i in range(len(streams))]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(seconds + 5)
        for parts in results:
            stamps = [float(headers['x-timestamp']) for headers, _ in parts]
            rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
            # The server's own placeholder timer sets the rate (from the stamps it writes), not this machine's speed.
            assert 0.7 <= rate * liveness.PLACEHOLDER_PERIOD_S <= 1.3, \
                'a viewer got %.2f placeholders/s, one per %.1f s expected (%d: %s)' % (
                    rate, liveness.PLACEHOLDER_PERIOD_S, len(stamps), stamps)
        # One encode per second for the output: every viewer got the very same bytes.
        payloads = [set((headers['x-timestamp'], p) for headers, p in parts) for parts in results]
        shared = payloads[0] & payloads[1] & payloads[2]
        assert len(shared) >= 2, 'viewers shared %d of %s placeholders' % (len(shared), [len(p) for p in payloads])
        headers, payload = results[0][-1]
        assert headers['content-type'] == 'image/jpeg'
        image = decode(payload)
        assert image.shape == (240, 320, 3), image.shape
        diffs = [mean_diff(image, candidate) for candidate in
                 expected_placeholder(320, 240, paused_wall, 'publisher gone')]
        assert min(diffs) < 2.0, 'placeholder differs from the expected text by %s' % diffs
        assert float(headers['x-timestamp']) > paused_wall, headers  # made now, not the old frame's stamp

        h.topics.gone.discard(TOPIC)
        cam.paused.clear()
        resumed = time.time()
        for stream in streams:
            deadline = time.time() + 3
            while True:
                headers, payload = stream.read_frame()
                live = mean_diff(decode(payload), make_frame(frame_index(float(headers['x-timestamp']))))
                if live < 3:
                    break
                assert time.time() < deadline, 'no live frame %.1f s after the camera returned' % (time.time() - resumed)
        back = time.time() - resumed
        # A live frame goes out as it arrives (every 33 ms); the bound is in the server's own
        # placeholder periods: each viewer may first read a placeholder its socket still held.
        assert back < 1.5 * liveness.PLACEHOLDER_PERIOD_S, 'live frames took %.2f s to return to 3 viewers; ' \
            'placeholder period %.1f s' % (back, liveness.PLACEHOLDER_PERIOD_S)
        wait_until(lambda: not topic_health(h)['stale'], 2, '/health live again')
        assert topic_health(h)['stale_reason'] is None
        wait_until(lambda: h.log.said('topic %s: messages again' % TOPIC), 1, 'the recovery logged')
        time.sleep(1.0)  # a flood would show here
    finally:
        for stream in streams:
            stream.close()
    # One line for the fault, one for the recovery, however long it lasted.
    faults = h.log.said('topic %s: stale' % TOPIC, 'warning')
    recoveries = h.log.said('topic %s: messages again' % TOPIC, 'info')
    assert len(faults) == 1 and 'publisher gone' in faults[0], h.log.lines
    assert len(recoveries) == 1, h.log.lines


def test_placeholder_has_the_output_size_and_type_and_reason_without_publisher_loss(harness):
    h = harness(stale_after=0.3)
    cam = h.camera(compressed=False)
    png = MjpegStream(h.port, '/stream?topic=%s&type=png' % TOPIC)
    small = MjpegStream(h.port, '/stream?topic=%s&width=160' % TOPIC)
    try:
        png.read_frame()
        small.read_frame()
        cam.paused.set()  # link down: the publisher is still connected, only the messages stop
        wait_until(lambda: topic_health(h)['stale'], 3, '/health says stale')
        reason = topic_health(h)['stale_reason']
        assert reason.startswith('no message for '), reason
        for stream, content_type, shape in ((png, 'image/png', (240, 320, 3)), (small, 'image/jpeg', (120, 160, 3))):
            deadline = time.time() + 3
            while True:
                headers, payload = stream.read_frame()
                if float(headers['x-timestamp']) > 1e6 or time.time() > deadline:
                    break  # placeholders carry the wall clock, the fake frames 1000 + index
            assert float(headers['x-timestamp']) > 1e6, 'no placeholder within 3 s: %s' % headers
            assert headers['content-type'] == content_type and payload.startswith(MAGIC[content_type]), \
                (headers, payload[:8])
            image = decode(payload)
            assert image.shape == shape, (content_type, image.shape)
            assert image.mean() < 60 and (image > 200).any(), 'not a dark picture with text: mean %.1f' % image.mean()
    finally:
        png.close()
        small.close()


def test_placeholders_off_viewers_keep_the_connection_and_the_last_frame(harness):
    h = harness(stale_after=0.3, placeholders=False)
    cam = h.camera(compressed=False)
    stream = MjpegStream(h.port, '/stream?topic=%s' % TOPIC)
    try:
        stream.read_frame()
        cam.paused.set()
        paused_index = cam.index
        wait_until(lambda: topic_health(h)['stale'], 3, '/health says stale')
        sent = h.health()['client_list'][0]['frames_sent']
        time.sleep(1.5)
        client = h.health()['client_list'][0]
        assert client['frames_sent'] == sent, 'frames went out while silent: %s -> %s' % (sent, client)
        status, _, body = http_get(h.port, '/snapshot?topic=%s' % TOPIC)
        assert status == 503 and b'no message for' in body, (status, body)
        cam.paused.clear()
        while True:  # the same connection carries live frames again, after what it held
            headers, payload = stream.read_frame()
            index = frame_index(float(headers['x-timestamp']))
            if index > paused_index:
                break
        assert mean_diff(decode(payload), make_frame(index)) < 3
        assert h.log.said('~placeholders off', 'warning'), h.log.lines
    finally:
        stream.close()


def test_placeholder_draws_every_line_inside_the_picture():
    for width, height in ((64, 48), (320, 240), (1280, 720)):
        lines = placeholder.message_lines('/a/very/long/topic/name/image_raw', 0.0, 'no message for 12.5 s')
        image = placeholder.draw(width, height, lines)
        assert image.shape == (height, width, 3)
        rows = np.nonzero((image > 128).any(axis=(1, 2)))[0]
        cols = np.nonzero((image > 128).any(axis=(0, 2)))[0]
        assert len(rows) and rows[0] >= 0 and rows[-1] < height and cols[-1] < width, (width, height)
        # Text is drawn: enough bright pixels in the middle of the picture.
        assert (image > 128).sum() > width * height * 0.005, (width, height, (image > 128).sum())
    assert placeholder.message_lines(u'/caf\xe9', 0.0, None)[0] == '/caf?'


def test_video_stream_gets_the_placeholder_through_its_encoder(harness, tmp_path):
    require(ffmpeg_available(), 'ffmpeg/ffprobe are not installed (Debian package ffmpeg)')
    h = harness(stale_after=0.5)
    cam = h.camera(compressed=False)
    pause = threading.Timer(4.0, cam.paused.set)  # the encoder starts in about 1 s, then live frames
    pause.start()
    try:
        status, _, body = capture(h.port, '/stream?topic=%s&type=h264' % TOPIC, 9.0)
    finally:
        pause.cancel()
    assert status == 200, (status, body[:200])
    pictures = decode_frames(write_temp(tmp_path, 'stale.mp4', complete_mp4(body)), 320, 240)
    dark = [p for p in pictures if p.mean() < 60]
    assert pictures and pictures[0].mean() > 60, 'no live frame first: %s' % [round(p.mean()) for p in pictures[:5]]
    assert 2 <= len(dark) <= 6 and all((p > 200).any() for p in dark), \
        '%d placeholders in %d decoded frames (means %s)' % (len(dark), len(pictures),
                                                              [round(p.mean()) for p in pictures[-8:]])
    assert pictures[-1].mean() < 60, 'the stream did not end on the placeholder'
