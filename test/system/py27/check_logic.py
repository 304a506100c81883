"""What the unit tests cannot show under Python 2.7: sources, codecs and the whole in-process server
(real sockets, threads, TLS, ffmpeg), checked under the interpreter that runs this file.

test/system/test_python27.py runs it with a real Python 2.7 (ROS Melodic's) and with Python 3,
so a failure only under 2.7 is a 2.7 incompatibility; the unit tests themselves run under 2.7
with pytest there too. Each check_* function is one check, assertions carry the measured
values, and the last line says "N passed, N failed".
    python2.7 test/system/py27/check_logic.py [name-substring ...]
"""
from __future__ import print_function

import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import traceback

import cv2
import numpy as np
import yaml

TEST_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(TEST_DIR), 'src'))
sys.path.insert(0, TEST_DIR)  # support.known_images

from camera_server import capture, capture_params, framing, image_codec, messages, sources, turbojpeg, viewer  # noqa: E402
from camera_server import ffmpeg_probe, master_watch, placeholder, tls, web_files, web_params, web_server  # noqa: E402
from support import known_images  # noqa: E402

IMAGE = messages.IMAGE_TYPE
DEADLINE_S = 10.0


def colour_image(width, height, bgr):
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = bgr
    return image


def check_image_codec_round_trip():
    image = colour_image(64, 48, (10, 200, 40))
    jpeg = image_codec.encode_jpeg(image, 90)
    assert isinstance(jpeg, bytes) and image_codec.is_jpeg(jpeg), type(jpeg)
    decoded = image_codec.decode_jpeg(jpeg)
    error = np.abs(decoded.astype(int) - image.astype(int)).mean()
    assert decoded.shape == (48, 64, 3) and error < 4, (decoded.shape, error)
    rgb = image_codec.convert_bgr(image, 'rgb8')
    assert tuple(rgb[0, 0]) == (40, 200, 10), tuple(rgb[0, 0])
    # sensor_msgs/Image.data is a str on Python 2.7.
    array = image_codec.array_from_image_msg('bgr8', 48, 64, 64 * 3, image.tobytes())
    assert (array == image).all(), 'array_from_image_msg changed the pixels'


def shown_error(encoding, image):
    want, mask, tolerance = known_images.expected(encoding)
    if image.ndim == 2:
        image = np.dstack([image] * 3)
    if want.ndim == 2:
        want = np.dstack([want] * 3)
    assert image.shape == want.shape, (encoding, image.shape, want.shape)
    return int(np.abs(image.astype(int) - want.astype(int))[mask].max()), tolerance


def check_image_codec_every_encoding_or_cv_bridge_named():
    """bgr8/rgb8/mono8 (padded rows) always; the others through cv_bridge, or a message naming it."""
    for encoding in ('bgr8', 'rgb8', 'mono8'):
        image = image_codec.array_from_image_msg(*known_images.message_fields(encoding))
        error, tolerance = shown_error(encoding, image)
        assert error <= tolerance, (encoding, error)
    others = known_images.COLOUR_ENCODINGS + known_images.RAMP_ENCODINGS + ['8UC1']
    if image_codec.cv_bridge() is None:  # Python 2.7 here: no ROS, so no cv_bridge
        try:
            image_codec.array_from_image_msg(*known_images.message_fields('bayer_rggb8'))
        except image_codec.UnsupportedEncoding as error:
            assert 'bayer_rggb8' in str(error) and 'ros-melodic-cv-bridge' in str(error), str(error)
        else:
            raise AssertionError('bayer_rggb8 read without cv_bridge')
    else:
        for encoding in [name for name in others if name not in ('bgr8', 'rgb8')]:
            error, tolerance = shown_error(encoding, image_codec.array_from_image_msg(
                *known_images.message_fields(encoding)))
            assert error <= tolerance, (encoding, error)
    # A thumbnail's JPEG decodes at 1/2 with TurboJPEG (OpenCV: full size), never below the need.
    jpeg = image_codec.encode_jpeg(colour_image(64, 48, (10, 200, 40)), 90)
    small = image_codec.decode_jpeg(jpeg, (30, 20))
    expected = (24, 32, 3) if image_codec.TURBOJPEG is not None else (48, 64, 3)
    assert small.shape == expected and abs(int(small[12, 16, 1]) - 200) < 8, (small.shape, tuple(small[12, 16]))
    assert turbojpeg.scaled_size(641, 481, (80, 60)) == (81, 61), turbojpeg.scaled_size(641, 481, (80, 60))
    depth = image_codec.generic_array(np.array([[1000, 2000, 3000]], np.uint16))  # no cv_bridge needed
    assert depth[0, 0] == 0 and abs(int(depth[0, 1]) - 127.5) < 1 and depth[0, 2] == 255, depth.tolist()
    floats = image_codec.scaled_to_range(np.array([[0.5, np.nan, 4.0, np.inf]], np.float32))
    assert floats.tolist() == [[0, 0, 255, 0]], floats.tolist()


def check_viewer_pages():
    page = viewer.topic_list_page({'/camera/image_raw': IMAGE, '/camera/camera_info': messages.CAMERA_INFO_TYPE,
                                   '/<b>': IMAGE})
    assert '/stream_viewer?topic=/camera/image_raw' in page, page
    assert '<b>' not in page.split('</head>')[-1].replace('<body>', ''), 'topic name not escaped'
    thumbnail = ('<img class="thumb" src="/stream?default_transport=compressed&amp;quality=75'
                 '&amp;topic=/camera/image_raw')
    assert thumbnail in page and 'data-topic="/camera/image_raw"' in page, page
    viewer_page = viewer.stream_viewer_page('/camera/image_raw', 'mjpeg', {'topic': '/camera/image_raw'})
    assert '/stream?topic=/camera/image_raw' in viewer_page, viewer_page
    assert 'href="/stream_viewer?topic=/camera/image_raw&amp;type=h264"' in viewer_page, viewer_page
    hostile = viewer.stream_viewer_page('/a</script><b>', 'h264', {'topic': '/a</script><b>', 'type': 'h264'})
    plain = viewer.stream_viewer_page('/a', 'h264', {'topic': '/a', 'type': 'h264'})
    assert '<b>' not in hostile and hostile.count('</script>') == plain.count('</script>'), hostile


class FakeSubscription(object):
    def __init__(self, callback):
        self.callback = callback
        self.registered = True

    def unregister(self):
        self.registered = False

    def get_num_connections(self):
        return 1


class FakeCapture(object):
    """A V4L2 camera as OpenCV shows it: MJPG accepted, frames as a row of JPEG bytes."""

    def __init__(self, jpeg, fail_after=None):
        self.props = {cv2.CAP_PROP_FRAME_WIDTH: 64, cv2.CAP_PROP_FRAME_HEIGHT: 48, cv2.CAP_PROP_FPS: 30}
        self.jpeg = np.frombuffer(jpeg, np.uint8).reshape(1, -1)
        self.fail_after = fail_after
        self.reads = 0

    def isOpened(self):
        return True

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def get(self, prop):
        return self.props.get(prop, 0)

    def read(self):
        self.reads += 1
        if self.fail_after is not None and self.reads > self.fail_after:
            return False, None
        return True, self.jpeg

    def release(self):
        pass


def check_sources_test_pattern_and_device_passthrough():
    config = dict(capture_params.CAPTURE_DEFAULTS, device='test', width=320, height=240, fps=100.0, camera_name=u'rear')
    pattern = capture.make_source(config)
    pattern.open()
    frame = pattern.read()
    assert frame.image.shape == (240, 320, 3) and frame.jpeg is None, frame.image.shape
    assert tuple(frame.image[120, 2]) == (255, 255, 255), tuple(frame.image[120, 2])
    # The name strip (bottom 20 rows at 240 px) in the name's colour, the same on 2.7 and 3.
    strip = tuple(int(v) for v in frame.image[235, 300])
    assert strip == sources.name_colour('rear') == (255, 153, 0), (strip, sources.name_colour('rear'))
    jpeg = image_codec.encode_jpeg(colour_image(64, 48, (0, 0, 255)), 90)
    device = capture.make_source(dict(capture_params.CAPTURE_DEFAULTS, device='/dev/video0'),
                                 capture_factory=lambda *args: FakeCapture(jpeg))
    device.open()
    frame = device.read()
    assert frame.jpeg == jpeg and frame.image is None, 'MJPG frame was not passed through: %r' % device.description
    assert tuple(frame.pixels()[24, 32])[2] > 240, tuple(frame.pixels()[24, 32])


class ListLog(object):
    def __init__(self):
        self.lines = []

    def info(self, text):
        self.lines.append(('info', text))

    def warning(self, text):
        self.lines.append(('warning', text))


def check_bad_frames_are_skipped_counted_and_logged_once():
    jpeg = image_codec.encode_jpeg(colour_image(64, 48, (0, 255, 0)), 90)
    assert image_codec.jpeg_problem(jpeg) is None, image_codec.jpeg_problem(jpeg)
    assert image_codec.jpeg_size(jpeg) == (64, 48), image_codec.jpeg_size(jpeg)
    for broken, words in ((jpeg[:len(jpeg) // 2], 'truncated JPEG'), (b'garbage' * 40, 'not a JPEG'),
                          (jpeg[:40] + jpeg[-2:], 'damaged JPEG header')):
        problem = image_codec.jpeg_problem(broken)
        assert problem and words in problem, (words, problem)
    # A camera whose frames 3, 4 (truncated) and 7 (garbage) are bad, as OpenCV hands them over.
    rows = [jpeg] * 10
    rows[3] = rows[4] = jpeg[:len(jpeg) // 2]
    rows[7] = b'\x00garbage' * 30
    capture_device = FakeCapture(jpeg, fail_after=len(rows))
    frames_given = iter(rows)
    original_read = capture_device.read

    def read():
        ok, _ = original_read()
        return (True, np.frombuffer(next(frames_given), np.uint8).reshape(1, -1)) if ok else (False, None)
    capture_device.read = read
    source = capture.make_source(dict(capture_params.CAPTURE_DEFAULTS, device='/dev/video0'),
                                 capture_factory=lambda *args: capture_device)
    delivered, log = [], ListLog()
    thread = capture.CaptureThread(source, delivered.append, reconnect_interval=60, log=log)
    thread.start()
    deadline = time.time() + DEADLINE_S
    while thread.failures == 0 and time.time() < deadline:
        time.sleep(0.01)
    thread.stop()
    thread.join(DEADLINE_S)
    assert not thread.is_alive(), 'capture thread did not stop'
    assert [frame.jpeg for frame in delivered] == [jpeg] * 7, [len(frame.jpeg) for frame in delivered]
    assert thread.bad_frames == 3, thread.bad_frames
    warnings = [text for level, text in log.lines if level == 'warning' and 'bad frame' in text]
    assert len(warnings) == 2 and 'truncated JPEG' in warnings[0] and 'not a JPEG' in warnings[1], log.lines
    recoveries = [text for level, text in log.lines if 'good frames again after' in text]
    assert recoveries == ['good frames again after 2 bad frame(s) from ' + source.description,
                          'good frames again after 1 bad frame(s) from ' + source.description], log.lines
    try:
        capture.FrameRenderer('bgr8', 80).render(sources.CapturedFrame(None, b'\xff\xd8' + b'x' * 50 + b'\xff\xd9', 0.0),
                                                 True, True)
    except sources.BadFrame:
        pass
    else:
        raise AssertionError('a JPEG that does not decode was rendered')


def xmlrpc_server(functions):
    """An XML-RPC server on a free loopback port in a thread; (server, uri)."""
    try:
        from xmlrpc.server import SimpleXMLRPCServer
    except ImportError:  # Python 2.7
        from SimpleXMLRPCServer import SimpleXMLRPCServer
    server = SimpleXMLRPCServer(('127.0.0.1', 0), logRequests=False, allow_none=True)
    for name, function in functions.items():
        server.register_function(function, name)
    thread = threading.Thread(target=server.serve_forever, name='fake xmlrpc')
    thread.daemon = True
    thread.start()
    return server, 'http://127.0.0.1:%d/' % server.server_address[1]


def check_master_watch_registers_again_with_a_new_master():
    calls = []
    node, node_uri = xmlrpc_server({
        'getPublications': lambda caller: [1, '', [['/camera/image_raw', 'sensor_msgs/Image']]],
        'getSubscriptions': lambda caller: [1, '', [['/clock', 'rosgraph_msgs/Clock']]],
        'publisherUpdate': lambda caller, topic, uris: calls.append(('update', topic, uris)) or [1, '', 0]})
    known = set()
    master_pid = [4242]

    def register(kind):
        def call(caller, name, kind_or_uri, api, *rest):
            known.add(caller)
            calls.append((kind, name))
            return [1, '', ['http://publisher:1/'] if kind == 'sub' else 0]
        return call
    master, master_uri = xmlrpc_server({
        'getPid': lambda caller: [1, '', master_pid[0]],
        'lookupNode': lambda caller, name: [1, '', node_uri] if name in known else [-1, 'unknown node', ''],
        'registerPublisher': register('pub'), 'registerSubscriber': register('sub'),
        'registerService': lambda caller, name, service_api, api: calls.append(('srv', name)) or [1, '', 1]})
    log = ListLog()
    watch = master_watch.MasterWatch(master_uri, '/camera', node_uri,
                                     lambda: [('/camera/set_camera_info', 'rosrpc://node:2')], log, timeout=2.0)
    try:
        watch.check()  # a new master: it does not know the node
        assert sorted(calls) == [('pub', '/camera/image_raw'), ('srv', '/camera/set_camera_info'),
                                 ('sub', '/clock'), ('update', '/clock', ['http://publisher:1/'])], calls
        watch.check()  # known now: nothing to do, nothing logged
        assert len(calls) == 4 and watch.registrations == 1, calls
        master_pid[0] = 4343  # another master that knows the node (rospy's parameter cache) but no topic
        watch.check()
        assert len(calls) == 8 and watch.registrations == 2, calls
        master.shutdown()
        master.server_close()
        for _ in range(3):
            watch.check()
        assert watch.master_gone, 'a closed master was not noticed'
    finally:
        node.shutdown()
        node.server_close()
    assert [level for level, _ in log.lines] == ['info', 'info', 'warning'], log.lines
    assert 'registered again its 1 publication(s), 1 subscription(s) and 1 service(s)' in log.lines[0][1], log.lines
    assert 'does not answer' in log.lines[2][1], log.lines


def http_get(port, target, stop_after_frames=0, wrap=None):
    """(status line, headers text, body) of GET target; with stop_after_frames, the body of the
    first frames of a multipart stream. ``wrap`` makes a TLS socket of the connection."""
    connection = socket.create_connection(('127.0.0.1', port), timeout=DEADLINE_S)
    connection = wrap(connection) if wrap else connection
    try:
        connection.sendall(('GET %s HTTP/1.0\r\n\r\n' % target).encode('ascii'))
        data = b''
        deadline = time.time() + DEADLINE_S
        while time.time() < deadline:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
            if stop_after_frames and data.count(b'--boundarydonotcross\r\n') > stop_after_frames:
                break
    finally:
        connection.close()
    head, _, body = data.partition(b'\r\n\r\n')
    status, _, headers = head.decode('latin-1').partition('\r\n')
    return status, headers, body


def fake_camera_server(config, camera_info=False):
    """A started CameraWebServer serving /camera/image_raw (and its camera_info topic), and the
    list its subscriptions' callbacks go to."""
    callbacks = []
    topics = {'/camera/image_raw': IMAGE}
    if camera_info:
        topics['/camera/camera_info'] = messages.CAMERA_INFO_TYPE
    server = web_server.CameraWebServer(
        ('127.0.0.1', 0), config, lambda: topics,
        lambda topic, msg_type, callback: callbacks.append(callback) or FakeSubscription(callback))
    server.start()
    return server, callbacks


class FakeCameraThread(object):
    """Gives every subscription callback ``image_at(count)`` (bgr8) every ``period`` s, stamped
    1000 + count * ``stamp_step``, until stop()."""

    def __init__(self, callbacks, image_at, period=0.03, stamp_step=1.0):
        self._callbacks, self._image_at = callbacks, image_at
        self._period, self._stamp_step = period, stamp_step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='fake camera topic')
        self._thread.daemon = True
        self._thread.start()

    def _run(self):
        count = 0
        while not self._stop.is_set():
            image = self._image_at(count)
            height, width = image.shape[:2]
            for callback in list(self._callbacks):
                callback(messages.ImageMessage(1000.0 + count * self._stamp_step, 'bgr8', height, width, width * 3,
                                            image.tobytes(), 0))
            count += 1
            self._stop.wait(self._period)

    def stop(self):
        self._stop.set()
        self._thread.join(DEADLINE_S)


def check_builtin_web_server_streams_real_http():
    server, callbacks = fake_camera_server(web_params.DEFAULT_CONFIG, camera_info=True)
    publisher = FakeCameraThread(callbacks, lambda count: colour_image(320, 240, (30, 30, 220)))
    try:
        status, _, page = http_get(server.port, '/')
        assert status == 'HTTP/1.0 200 OK' and b'/stream?topic=/camera/image_raw' in page, (status, page[:300])
        status, _, body = http_get(server.port, '/nowhere')
        assert status.startswith('HTTP/1.0 404') and body.count(b'\n') == 1, (status, body)
        status, headers, body = http_get(server.port, '/stream?topic=/camera/image_raw&width=160', 3)
        assert status == 'HTTP/1.0 200 OK', status
        assert 'multipart/x-mixed-replace;boundary=boundarydonotcross' in headers, headers
        parts = body.split(b'--boundarydonotcross\r\n')[1:4]
        assert len(parts) == 3, 'frames received: %d' % len(parts)
        for part in parts:
            part_head, _, payload = part.partition(b'\r\n\r\n')
            length = int(part_head.split(b'Content-Length: ')[1].split(b'\r\n')[0])
            decoded = image_codec.decode_jpeg(payload[:length])
            assert decoded.shape == (120, 160, 3), decoded.shape
            assert abs(int(decoded[60, 80, 2]) - 220) < 10, tuple(decoded[60, 80])
        status, _, body = http_get(server.port, '/health')
        assert status == 'HTTP/1.0 200 OK' and json.loads(body.decode('utf-8'))['status'] == 'ok', body
        status, headers, body = http_get(server.port, '/assets/viewer.js')
        with open(os.path.join(web_files.WWW, 'viewer.js'), 'rb') as source:
            assert status == 'HTTP/1.0 200 OK' and body == source.read(), (status, headers, body[:100])
        assert 'text/javascript' in headers and 'ETag: "' in headers, headers
    finally:
        publisher.stop()
        server.stop()


def check_https_streams_with_a_self_signed_certificate():
    """ssl.SSLContext on 2.7.9+: the handshake in the accept thread, the stream writer's non-blocking TLS sends."""
    import ssl
    import subprocess
    folder = tempfile.mkdtemp()
    cert, key = os.path.join(folder, 'cert.pem'), os.path.join(folder, 'key.pem')
    subprocess.check_call(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                           '-out', cert, '-days', '2', '-subj', '/CN=localhost'],
                          stdout=open(os.devnull, 'w'), stderr=subprocess.STDOUT)
    config = web_params.DEFAULT_CONFIG._replace(tls=tls.server_context(cert, key))
    server, callbacks = fake_camera_server(config)
    publisher = FakeCameraThread(callbacks, lambda count: np.random.RandomState(count).randint(
        0, 256, (480, 640, 3)).astype(np.uint8))
    client = ssl.SSLContext(ssl.PROTOCOL_SSLv23)
    client.verify_mode = ssl.CERT_REQUIRED
    client.check_hostname = True
    client.load_verify_locations(cert)
    wrap = lambda sock: client.wrap_socket(sock, server_hostname='localhost')  # noqa: E731
    try:
        status, headers, body = http_get(server.port, '/stream?topic=/camera/image_raw&quality=95', 5, wrap)
        assert status == 'HTTP/1.0 200 OK', status
        parts = body.split(b'--boundarydonotcross\r\n')[1:5]
        assert len(parts) == 4, 'frames received over TLS: %d' % len(parts)
        for part in parts:
            part_head, _, payload = part.partition(b'\r\n\r\n')
            length = int(part_head.split(b'Content-Length: ')[1].split(b'\r\n')[0])
            assert image_codec.decode_jpeg(payload[:length]).shape == (480, 640, 3)
        try:  # plain HTTP to the TLS port: refused (closed or reset)
            status, _, body = http_get(server.port, '/health')
        except socket.error:
            status, body = '', b''
        assert status == '' and body == b'', (status, body[:100])
    finally:
        publisher.stop()
        server.stop()
        shutil.rmtree(folder)


def check_silent_topic_placeholder_health_snapshot_and_return():
    server, callbacks = fake_camera_server(web_params.DEFAULT_CONFIG._replace(stale_after=0.3))
    try:
        image = colour_image(320, 240, (30, 30, 220))
        connection = socket.create_connection(('127.0.0.1', server.port), timeout=DEADLINE_S)
        connection.sendall(b'GET /stream?topic=/camera/image_raw HTTP/1.0\r\n\r\n')
        deadline = time.time() + DEADLINE_S
        while not callbacks and time.time() < deadline:
            time.sleep(0.01)
        callbacks[0](messages.ImageMessage(1000.0, 'bgr8', 240, 320, 960, image.tobytes(), 0))
        data = b''
        while data.count(b'--boundarydonotcross\r\n') < 3 and time.time() < deadline:  # the frame, a placeholder
            data += connection.recv(65536)
        parts = data.split(b'--boundarydonotcross\r\n')
        part_head, _, payload = parts[2].partition(b'\r\n\r\n')
        assert float(part_head.split(b'X-Timestamp: ')[1].split(b'\r\n')[0]) > 1e6, part_head
        decoded = image_codec.decode_jpeg(payload[:-len(b'\r\n')])
        assert decoded.shape == (240, 320, 3) and decoded.mean() < 60, (decoded.shape, decoded.mean())
        health = json.loads(http_get(server.port, '/health')[2].decode('utf-8'))
        topic = health['topics'][0]
        assert topic['stale'] and topic['stale_reason'].startswith('no message for'), topic
        status, _, body = http_get(server.port, '/snapshot?topic=/camera/image_raw')
        assert status.startswith('HTTP/1.0 503') and b'no signal' in body, (status, body)
        callbacks[0](messages.ImageMessage(1001.0, 'bgr8', 240, 320, 960, image.tobytes(), 0))
        while b'X-Timestamp: 1001.000000' not in data and time.time() < deadline:
            data += connection.recv(65536)
        assert b'X-Timestamp: 1001.000000' in data, 'the live frame did not follow the placeholder'
        connection.close()
    finally:
        server.stop()
    lines = placeholder.message_lines(u'/t', 0.0, u'publisher gone')
    assert placeholder.draw(64, 48, lines).shape == (48, 64, 3) and lines[2] == 'publisher gone', lines
    assert messages.message_size(messages.CompressedMessage(0.0, 'jpeg', image_codec.encode_jpeg(image, 80))) == (320, 240)


def check_advance_headers_stream():
    server, callbacks = fake_camera_server(web_params.DEFAULT_CONFIG)
    try:
        image = colour_image(64, 48, (30, 30, 220))
        connection = socket.create_connection(('127.0.0.1', server.port), timeout=DEADLINE_S)
        connection.sendall(b'GET /stream?topic=/camera/image_raw&width=32 HTTP/1.0\r\nAccept: image/webp,*/*\r\n\r\n')
        data, deadline = b'', time.time() + DEADLINE_S
        while data.count(framing.PART_END) < 3 and time.time() < deadline:  # the head ends with one
            if callbacks:
                callbacks[0](messages.ImageMessage(1000.0, 'bgr8', 48, 64, 192, image.tobytes(), 0))
            data += connection.recv(65536)
        connection.close()
        head, _, body = data.partition(b'\r\n\r\n')
        assert body.startswith(b'--boundarydonotcross\r\nContent-type: image/jpeg\r\n\r\n\xff\xd8'), body[:80]
        second = body.split(framing.PART_END)[1]
        assert second.startswith(b'Content-type: image/jpeg\r\n\r\n\xff\xd8'), repr(second[:60])
        assert image_codec.decode_jpeg(second.partition(b'\r\n\r\n')[2]).shape == (24, 32, 3)
    finally:
        server.stop()


def check_video_streams_real_http():
    """h264 and vp8 from a real ffmpeg, through the server, under this interpreter."""
    if ffmpeg_probe.find_executable('ffmpeg') is None:
        raise AssertionError('ffmpeg is not installed (Debian package ffmpeg)')
    server, callbacks = fake_camera_server(web_params.DEFAULT_CONFIG._replace(h264_encoder='libx264'))

    def moving(count):
        image = np.roll(colour_image(320, 240, (30, 30, 220)), count, axis=1)
        image[:, count % 300:count % 300 + 20] = 255
        return image
    publisher = FakeCameraThread(callbacks, moving, period=0.033, stamp_step=1 / 30.0)
    try:
        for kind, marker, content_type in (('h264', b'moof', 'video/mp4'), ('vp8', b'\x1f\x43\xb6\x75', 'video/webm')):
            connection = socket.create_connection(('127.0.0.1', server.port), timeout=DEADLINE_S)
            connection.sendall(('GET /stream?topic=/camera/image_raw&type=%s HTTP/1.0\r\n\r\n' % kind).encode('ascii'))
            data, deadline = b'', time.time() + 3 * DEADLINE_S
            while data.count(marker) < 10 and time.time() < deadline:
                data += connection.recv(65536)
            connection.close()
            head, _, body = data.partition(b'\r\n\r\n')
            assert ('Content-type: %s' % content_type).encode('ascii') in head, head
            assert body.count(marker) >= 10, '%s: %d frames in %d bytes' % (kind, body.count(marker), len(body))
            assert body[4:8] == b'ftyp' if kind == 'h264' else body[:4] == b'\x1a\x45\xdf\xa3', body[:16]
    finally:
        publisher.stop()
        server.stop()


def check_request_heads_deadline_and_cap():
    """The whole-head deadline (408) and the cap on pending connections (the oldest gets 503)."""
    config = web_params.DEFAULT_CONFIG._replace(request_timeout=0.6, max_pending_requests=2)
    server = web_server.CameraWebServer(('127.0.0.1', 0), config, lambda: {}, None)
    server.start()
    socks = []
    try:
        for _ in range(3):
            sock = socket.create_connection(('127.0.0.1', server.port), timeout=DEADLINE_S)
            sock.sendall(b'GET / HTTP/1.1\r\n')
            socks.append(sock)
            time.sleep(0.05)
        started = time.time()
        replies = [sock.recv(65536) for sock in socks]
        elapsed = time.time() - started
        assert replies[0].startswith(b'HTTP/1.0 503 ') and b'max_pending_requests=2' in replies[0], replies[0]
        assert replies[1].startswith(b'HTTP/1.0 408 ') and replies[2].startswith(b'HTTP/1.0 408 '), replies[1:]
        assert 0.3 < elapsed < 0.6 + 1.0, 'trickled heads answered after %.2f s' % elapsed
        status, _, body = http_get(server.port, '/health')
        assert status == 'HTTP/1.0 200 OK', status
    finally:
        for sock in socks:
            sock.close()
        server.stop()


def main(argv):
    wanted = argv[1:]
    checks = sorted((name, function) for name, function in globals().items()
                    if name.startswith('check_') and (not wanted or any(w in name for w in wanted)))
    print('python %s, numpy %s, PyYAML %s, OpenCV %s'
          % (sys.version.split()[0], np.__version__, yaml.__version__, cv2.__version__))
    failed = 0
    for name, function in checks:
        start = time.time()
        try:
            function()
            print('ok     %s (%.2f s)' % (name, time.time() - start))
        except Exception:
            failed += 1
            print('FAILED %s (%.2f s)\n%s' % (name, time.time() - start, traceback.format_exc()))
    # Stopped servers, hubs and capture threads must leave no thread behind: on Python 2.7 a
    # thread still running at interpreter exit dies with a traceback.
    deadline = time.time() + DEADLINE_S
    leftover = [t for t in threading.enumerate() if t is not threading.current_thread()]
    while leftover and time.time() < deadline:
        leftover[0].join(deadline - time.time())
        leftover = [t for t in leftover if t.is_alive()]
    if leftover:
        failed += 1
        print('FAILED threads still running %.0f s after the checks: %s'
              % (DEADLINE_S, ', '.join(t.name for t in leftover)))
    print('%d passed, %d failed' % (len(checks) + 1 - failed, failed))
    return 1 if failed or not checks else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
