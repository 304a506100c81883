"""The built-in web server on port 0 with fake topics, driven by real HTTP clients over TCP."""
import socket
import threading
import time

import cv2
import pytest

from camera_server.messages import CAMERA_INFO_TYPE, IMAGE_TYPE
from camera_server.web_params import DEFAULT_CONFIG
from support.fake_topics import frame_index
from support.frames import make_frame
from support.stream_client import MjpegStream, http_get
from support.waits import bare_wait, wait_until
from support.web_checks import decode, mean_diff, produced, read_all, topic_stats

EXPECTED_STREAM_HEAD = (
    b'HTTP/1.0 200 OK\r\n'
    b'Connection: close\r\n'
    b'Server: web_video_server\r\n'
    b'Cache-Control: no-cache, no-store, must-revalidate, pre-check=0, post-check=0, max-age=0\r\n'
    b'Pragma: no-cache\r\n'
    b'Content-type: multipart/x-mixed-replace;boundary=boundarydonotcross\r\n'
    b'Access-Control-Allow-Origin: *\r\n'
    b'Access-Control-Allow-Methods: GET,POST,PUT,DELETE,HEAD,OPTIONS\r\n'
    b'Access-Control-Allow-Headers: Origin, Authorization, Accept, Content-Type\r\n'
    b'Access-Control-Max-Age: 3600\r\n'
    b'\r\n'
    b'--boundarydonotcross\r\n')


def test_topic_list_groups_cameras_and_escapes_names(harness):
    h = harness()
    h.topics.types.update({'/cam/image_raw': IMAGE_TYPE, '/cam/camera_info': CAMERA_INFO_TYPE,
                           '/x<script>alert(1)</script>/image': IMAGE_TYPE, '/chatter': 'std_msgs/String'})
    status, headers, body = http_get(h.port, '/')
    page = body.decode('utf-8')
    assert status == 200 and headers['content-type'].startswith('text/html'), (status, headers)
    assert '<title>ROS Image Topic List</title>' in page
    assert '<li>/cam/<ul><li><a href="/stream_viewer?topic=/cam/image_raw">image_raw</a>' in page, page
    assert '<script>alert' not in page and '&lt;script&gt;alert' in page, page  # the page's own script aside
    assert '/chatter' not in page, page


def stream_head(port, request, length):
    """The first ``length`` bytes of the reply to ``request`` (bytes)."""
    sock = socket.create_connection(('127.0.0.1', port), 5)
    try:
        sock.sendall(request)
        head = b''
        while len(head) < length:
            head += sock.recv(length - len(head))
        return head
    finally:
        sock.close()


def test_stream_wire_format_and_frames_match_source(harness):
    h = harness()
    h.camera(compressed=False)
    head = stream_head(h.port, b'GET /stream?topic=/camera/image_raw HTTP/1.1\r\nHost: x\r\n\r\n',
                       len(EXPECTED_STREAM_HEAD))
    assert head == EXPECTED_STREAM_HEAD, head
    stream = MjpegStream(h.port, '/stream?topic=%2Fcamera%2Fimage_raw')  # percent-encoded topic
    try:
        assert stream.status == 200, stream.status_line
        for _ in range(5):
            part, payload = stream.read_frame()
            assert part['content-type'] == 'image/jpeg', part
            assert list(part) == ['content-type', 'x-timestamp', 'content-length'], part
            index = frame_index(float(part['x-timestamp']))
            assert part['x-timestamp'] == '%.06f' % (1000.0 + index), part['x-timestamp']
            diff = mean_diff(decode(payload), make_frame(index))
            assert diff < 3.0, 'frame %d differs from the source by %.2f' % (index, diff)
    finally:
        stream.close()


@pytest.mark.parametrize('accept', ['multipart/mixed', 'multipart/mixed, */*;q=0.8', 'Multipart/Mixed;q=1'])
def test_stream_for_a_script_is_the_same_parts_as_multipart_mixed(harness, accept):
    """The viewer's fetch() asks for multipart/mixed (WebKit lets no script read x-mixed-replace):
    the same head but for its type, the same parts."""
    h = harness()
    h.camera(compressed=False)
    expected = EXPECTED_STREAM_HEAD.replace(b'multipart/x-mixed-replace', b'multipart/mixed')
    head = stream_head(h.port, b'GET /stream?topic=/camera/image_raw HTTP/1.1\r\nAccept: %s\r\n\r\n'
                       % accept.encode(), len(expected))
    assert head == expected, head
    stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw', headers=[('Accept', accept)])
    try:
        for _ in range(3):
            part, payload = stream.read_frame()
            assert list(part) == ['content-type', 'x-timestamp', 'content-length'], part
            assert part['x-timestamp'] == '%.06f' % (1000.0 + frame_index(float(part['x-timestamp']))), part
    finally:
        stream.close()


@pytest.mark.parametrize('query,size', [('width=160', (160, 120)), ('height=60', (80, 60)),
                                        ('width=100&height=50', (100, 50)), ('width=-1', (320, 240))])
def test_stream_size_keeps_aspect_ratio(harness, query, size):
    h = harness()
    h.camera()
    stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw&' + query)
    try:
        _, payload = stream.read_frame()
        img = decode(payload)
        assert (img.shape[1], img.shape[0]) == size, (query, img.shape)
    finally:
        stream.close()


def test_invert_rotates_and_quality_changes_size(harness):
    h = harness()
    h.camera(compressed=False)
    results = {}
    for query in ('invert', 'quality=10', 'quality=95'):
        stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw&' + query)
        part, payload = stream.read_frame()
        stream.close()
        results[query] = (frame_index(float(part['x-timestamp'])), payload)
    index, payload = results['invert']
    diff = mean_diff(decode(payload), cv2.rotate(make_frame(index), cv2.ROTATE_180))
    assert diff < 3.0, 'inverted frame differs from the rotated source by %.2f' % diff
    assert len(results['quality=10'][1]) < 0.5 * len(results['quality=95'][1]), \
        (len(results['quality=10'][1]), len(results['quality=95'][1]))


def test_png_stream_is_lossless(harness):
    h = harness()
    h.camera(compressed=False)
    stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw&type=png')
    try:
        part, payload = stream.read_frame()
        assert part['content-type'] == 'image/png', part
        assert mean_diff(decode(payload), make_frame(frame_index(float(part['x-timestamp'])))) == 0.0
    finally:
        stream.close()


@pytest.mark.parametrize('query', ['type=ros_compressed', 'type=mjpeg'])
def test_camera_jpeg_forwarded_unchanged_without_encoding(harness, query):
    h = harness()
    cam = h.camera()
    stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw&' + query)
    try:
        for _ in range(10):
            part, payload = stream.read_frame()
            index = frame_index(float(part['x-timestamp']))
            assert payload == cam.published[index], 'frame %d is not the camera JPEG' % index
        health = h.health()
        assert health['encodes_per_s'] == 0 and health['topics'][0]['topic'] == '/camera/image_raw/compressed', \
            health
    finally:
        stream.close()


@pytest.mark.parametrize('target,status,words', [
    ('/stream?topic=/nope', 404, 'not advertised'),
    ('/stream?topic=/chatter', 404, 'std_msgs/String'),
    ('/snapshot?topic=/nope', 404, 'not advertised'),
    ('/stream_viewer?topic=/nope', 404, 'not advertised'),
    ('/stream?topic=/camera/image_raw&width=abc', 400, 'width'),
    ('/stream?topic=/camera/image_raw&quality=101', 400, 'quality'),
    ('/stream?topic=/camera/image_raw&type=vp8&quality=95', 400, 'quality'),
    ('/stream?topic=/camera/image_raw&type=h264&gop=-1', 400, 'gop'),
    ('/stream?topic=/camera/image_raw&type=gif', 400, 'type'),
    ('/stream', 400, 'topic'),
    ('/nowhere', 404, '/stream'),
])
def test_bad_requests_get_status_and_one_line_at_once(harness, target, status, words):
    h = harness()
    h.topics.types.update({'/camera/image_raw': IMAGE_TYPE, '/chatter': 'std_msgs/String'})
    started = time.time()
    got, _, body = http_get(h.port, target)
    elapsed = time.time() - started
    text = body.decode('utf-8')
    assert got == status and words in text and text.count('\n') == 1, (got, text)
    # At once: a reply that waited on any of the server's deadlines would take the shortest one.
    shortest = min(DEFAULT_CONFIG.snapshot_timeout, DEFAULT_CONFIG.request_timeout)
    assert elapsed < shortest / 2, 'answered after %.2f s; the shortest server deadline is %.1f s' % (
        elapsed, shortest)


def test_snapshot_cached_at_once_and_silent_topic_504(harness):
    h = harness(snapshot_timeout=1.0)
    h.camera(compressed=False)
    h.topics.types['/silent/image_raw'] = IMAGE_TYPE
    cam = h.camera(compressed=False)
    h.topics.types['/silent/image_raw'] = IMAGE_TYPE
    stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw')
    try:
        stream.read_frame()
        cam.paused.set()  # no new frame: only the cached one can answer before snapshot_timeout's 504
        started = time.time()
        status, headers, body = http_get(h.port, '/snapshot?topic=/camera/image_raw')
        elapsed = time.time() - started
        assert status == 200 and headers['content-type'] == 'image/jpeg' and 'x-timestamp' in headers, \
            (status, elapsed, body[:200])
        diff = mean_diff(decode(body), make_frame(frame_index(float(headers['x-timestamp']))))
        assert diff < 3.0, diff
        assert elapsed < h.server.config.snapshot_timeout, 'cached snapshot took %.3f s; snapshot_timeout %.1f s' % (
            elapsed, h.server.config.snapshot_timeout)
    finally:
        stream.close()
    started = time.time()
    status, _, body = http_get(h.port, '/snapshot?topic=/silent/image_raw')
    elapsed = time.time() - started
    assert status == 504 and b'/silent/image_raw' in body, (status, body)
    # snapshot_timeout (1 s) is the server's deadline: never before it, and within one more.
    assert 0.9 < elapsed < 2 * h.server.config.snapshot_timeout, \
        'silent snapshot answered after %.2f s; snapshot_timeout %.1f s' % (elapsed, h.server.config.snapshot_timeout)
    wait_until(lambda: not h.topics.subscriptions('/silent/image_raw'), 2, 'silent topic unsubscribed')


def test_eight_clients_full_rate_one_encode_per_frame(harness):
    h = harness()
    h.camera(fps=30.0, compressed=False)
    streams = [MjpegStream(h.port, '/stream?topic=/camera/image_raw&quality=80') for _ in range(8)]
    counts, before, after = read_all(streams, 3.0, h.health)
    messages, encodes = produced(before, after, '/camera/image_raw')
    output = topic_stats(after, '/camera/image_raw')['outputs'][0]
    assert h.topics.subscribe_calls == 1 and len(after['topics']) == 1 and output['clients'] == 8, after
    assert 0.8 * messages <= encodes <= messages + 1, \
        'one encode per message expected, not per client: %d encodes for %d messages' % (encodes, messages)
    assert min(counts) >= 0.9 * encodes - 2, \
        'frames per client in 3 s: %s, while the output encoded %d' % (counts, encodes)


def writer_threads():
    return [t for t in threading.enumerate() if t.name == 'http stream writer']


def server_threads():
    return sorted(t.name for t in threading.enumerate() if t.name.startswith('http '))


def test_sixteen_streams_share_one_writer_thread_and_get_the_camera_bytes(harness):
    h = harness()
    cam = h.camera(fps=30.0)
    wrong = []

    class Checked(object):
        """A stream whose every frame must be the camera's JPEG with its stamp."""

        def __init__(self):
            self.stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw&type=ros_compressed')

        def read_frame(self):
            part, payload = self.stream.read_frame()
            index = frame_index(float(part['x-timestamp']))
            if part['x-timestamp'] != '%.06f' % (1000.0 + index) or payload != cam.published.get(index):
                wrong.append(index)

        def close(self):
            self.stream.close()
    def measure():
        health = h.health()  # its own handler thread may take a moment to end after the reply
        only_shared = lambda: server_threads() == ['http accept', 'http stream writer']  # noqa: E731
        for _ in range(20):
            if only_shared():
                break
            time.sleep(0.05)
        return health, server_threads()
    counts, (before, _), (after, threads) = read_all([Checked() for _ in range(16)], 3.0, measure)
    messages, _ = produced(before, after, '/camera/image_raw/compressed')
    assert after['clients'] == 16 and threads == ['http accept', 'http stream writer'], \
        'no thread per client: %d clients, threads %s' % (after['clients'], threads)
    assert not wrong, 'frames differing from the camera JPEG: %s' % wrong
    assert min(counts) >= 0.9 * messages - 2, \
        'frames per client in 3 s: %s, of %d messages forwarded' % (counts, messages)


def test_stop_closes_streams_and_ends_the_writer(harness):
    h = harness()
    h.camera()
    streams = [MjpegStream(h.port, '/stream?topic=/camera/image_raw') for _ in range(3)]
    for stream in streams:
        stream.read_frame()
    writer = writer_threads()
    h.server.stop()
    assert writer and not any(thread.is_alive() for thread in writer)
    for stream in streams:
        with pytest.raises(EOFError):
            while True:
                stream.read_frame()
        stream.close()
    assert h.server.hub.client_count() == 0 and not h.topics.subscriptions()


def test_stalled_client_does_not_slow_others_and_is_dropped(harness):
    h = harness(send_timeout=1.5)
    h.camera(fps=30.0, width=640, height=480, compressed=False, noise=True)
    stalled = MjpegStream(h.port, '/stream?topic=/camera/image_raw&type=png', receive_buffer=4096)
    stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw&type=png')
    try:
        # The baseline is the output's own encode rate: a PNG of 640x480 noise may take longer
        # than a frame period, so the rate itself depends on this machine.
        stream.read_frame()
        before, started, count = h.health(), time.time(), 0
        while time.time() - started < 3.0:
            stream.read_frame()
            count += 1
        _, encodes = produced(before, h.health(), '/camera/image_raw')
        assert count >= 0.9 * encodes - 2, 'reading client got %d frames of the %d encoded in %.1f s next ' \
            'to a stalled one' % (count, encodes, time.time() - started)
        wait_until(lambda: h.health()['clients'] == 1, 3.0, 'stalled client dropped')
    finally:
        stalled.close()
        stream.close()


def test_closed_client_noticed_on_silent_topic(harness):
    h = harness()
    h.topics.types['/silent/image_raw'] = IMAGE_TYPE
    stream = MjpegStream(h.port, '/stream?topic=/silent/image_raw')
    wait_until(lambda: h.topics.subscriptions('/silent/image_raw'), 2, 'subscribed')
    stream.close()
    closed = time.time()
    # A silent topic gives the writer no frame to fail on and no deadline (send_timeout counts
    # only while bytes wait): only the peer's close can wake it, so any bound under
    # send_timeout tells that apart from a writer that never notices.
    bound = DEFAULT_CONFIG.send_timeout / 2
    wait_until(lambda: not h.topics.subscriptions('/silent/image_raw'), bound, 'subscription released')
    noticed = time.time() - closed
    assert h.health()['clients'] == 0
    assert noticed < bound, 'closed client noticed after %.2f s; send_timeout %.0f s' % (
        noticed, DEFAULT_CONFIG.send_timeout)


def test_connect_disconnect_cycles_leave_nothing_behind(harness):
    # Cycles take ~2 ms here, less than the frame period in which a closed client is noticed,
    # so dozens are briefly open at once: no ~max_clients limit for this test.
    h = harness(max_clients=0)
    h.camera(fps=30.0)
    baseline = threading.active_count()
    for i in range(200):
        stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw' + ('&quality=70' if i % 2 else ''))
        stream.read_frame()
        stream.close()
    wait_until(lambda: h.health()['clients'] == 0 and not h.topics.subscriptions(), 3, 'all clients gone')
    wait_until(lambda: threading.active_count() <= baseline + 1, 3,
               'threads back to %d (now %d)' % (baseline, threading.active_count()))


def test_malformed_and_idle_clients_get_answers_and_server_survives(harness):
    h = harness(request_timeout=1.0)
    h.topics.types['/camera/image_raw'] = IMAGE_TYPE

    def raw(data, timeout=5.0):
        sock = socket.create_connection(('127.0.0.1', h.port), timeout)
        try:
            if data:
                sock.sendall(data)
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return b''.join(chunks)
                chunks.append(chunk)
        finally:
            sock.close()
    assert raw(b'garbage\r\n\r\n').startswith(b'HTTP/1.0 400 '), 'garbage request line'
    assert raw(b'GET /' + b'a' * 70000 + b' HTTP/1.1\r\n\r\n').startswith(b'HTTP/1.0 414 ')
    many = b''.join(b'X-%d: y\r\n' % i for i in range(150))
    assert raw(b'GET / HTTP/1.1\r\n' + many + b'\r\n').startswith(b'HTTP/1.0 431 ')
    assert raw(b'GET / HTTP/1.1\r\nX: ' + b'y' * 70000 + b'\r\n\r\n').startswith(b'HTTP/1.0 431 ')
    started = time.time()
    assert raw(b'') == b''  # says nothing: dropped after request_timeout
    idle = time.time() - started
    # request_timeout (1 s) is the server's deadline: never before it, within one more, and
    # well before the client's own 5 s timeout that a server never dropping it would show.
    assert 0.9 < idle < 2 * h.server.config.request_timeout, 'idle client dropped after %.2f s; request_timeout ' \
        '%.1f s' % (idle, h.server.config.request_timeout)
    assert http_get(h.port, '/')[0] == 200


def test_max_clients_503(harness):
    h = harness(max_clients=2)
    h.camera()
    streams = [MjpegStream(h.port, '/stream?topic=/camera/image_raw') for _ in range(2)]
    try:
        status, _, body = http_get(h.port, '/stream?topic=/camera/image_raw')
        assert status == 503 and b'max_clients' in body, (status, body)
    finally:
        for stream in streams:
            stream.close()


def test_basic_auth(harness):
    import base64
    h = harness(credentials=('viewer:s3cret',))
    h.topics.types['/camera/image_raw'] = IMAGE_TYPE
    good = 'Basic ' + base64.b64encode(b'viewer:s3cret').decode()
    bad = 'Basic ' + base64.b64encode(b'viewer:wrong').decode()
    status, headers, _ = http_get(h.port, '/')
    assert status == 401 and headers['www-authenticate'].startswith('Basic'), (status, headers)
    assert http_get(h.port, '/', [('Authorization', bad)])[0] == 401
    assert http_get(h.port, '/', [('Authorization', good)])[0] == 200
    assert http_get(h.port, '/health')[0] == 200


def test_cors_origin_parameter(harness):
    h = harness(cors_origin='http://robot.example')
    h.camera()
    stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw')
    stream.close()
    assert stream.headers['access-control-allow-origin'] == 'http://robot.example', stream.headers
    h2 = harness(cors_origin='')
    h2.camera()
    stream = MjpegStream(h2.port, '/stream?topic=/camera/image_raw')
    stream.close()
    assert 'access-control-allow-origin' not in stream.headers, stream.headers


def test_publish_rate_repeats_last_frame_on_quiet_topic(harness):
    h = harness(publish_rate=10.0)
    h.topics.types['/quiet/image_raw'] = IMAGE_TYPE
    stream = MjpegStream(h.port, '/stream?topic=/quiet/image_raw')
    try:
        wait_until(lambda: h.topics.subscriptions('/quiet/image_raw'), 2, 'subscribed')
        from support.fake_topics import image_source
        h.topics.publish('/quiet/image_raw', image_source(7))
        started = time.time()
        stamps = [stream.read_frame()[0]['x-timestamp'] for _ in range(11)]
        rate = 10 / (time.time() - started)
        # The server's repeat timer at ~publish_rate (10/s) sets the rate; each repeat is timed
        # from the last, so a busy machine's timer lateness, measured here, lowers it.
        period = sum(bare_wait(0.1) for _ in range(5)) / 5
        assert set(stamps) == {'1007.000000'} and 0.7 / period < rate < 13, \
            '%.1f repeats/s at ~publish_rate=10 (stamps %s); a bare 0.1 s wait takes %.3f s here' % (
                rate, sorted(set(stamps)), period)
    finally:
        stream.close()


def test_health_keys(harness):
    h = harness()
    cam = h.camera()
    stream = MjpegStream(h.port, '/stream?topic=/camera/image_raw&width=100')
    try:
        stream.read_frame()
        first, started = cam.index, time.time()
        for _ in range(20):
            stream.read_frame()
        published = (cam.index - first) / (time.time() - started)  # the camera's own rate here
        health = h.health()
    finally:
        stream.close()
    assert {'status', 'uptime_s', 'clients', 'subscriptions', 'encodes_per_s', 'encodes_total', 'threads', 'topics',
            'client_list', 'max_clients'} <= set(health), health
    topic = health['topics'][0]
    assert topic['topic'] == '/camera/image_raw' and abs(topic['input_fps'] - published) <= 0.25 * published, \
        'input_fps %.1f for a camera publishing %.1f fps: %s' % (topic['input_fps'], published, topic)
    assert {'type', 'width', 'height', 'quality', 'invert', 'clients', 'frames_per_s', 'encodes_per_s',
            'encodes_total'} <= set(topic['outputs'][0]), topic
    assert {'id', 'request', 'topic', 'frames_sent', 'frames_dropped', 'connected_s'} <= \
        set(health['client_list'][0]), health
