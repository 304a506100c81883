"""Property-based fuzzing (hypothesis) of request parsing and query handling: pure functions, then real sockets.

Thousands of generated targets and queries at the function level; a few hundred whole
requests (method, target, headers, version, stray bytes) against a running server. No
exception other than HttpError may escape the parsers, and every answer must be a
well-formed HTTP reply: a valid status line, header lines that are name: value, and a
one-line reason for every error.
"""
import re
import socket
import time

import pytest

from support.ci import require

try:
    from hypothesis import HealthCheck, given, settings, strategies as st
except ImportError:  # reported by the tests below (Debian package python3-hypothesis)
    given = None

from camera_server import http_replies, url_api
from camera_server.messages import COMPRESSED_TYPE, IMAGE_TYPE
from camera_server.url_api import HttpError
from support.web_harness import Harness

if given is None:
    def test_hypothesis_is_installed():
        require(False, 'python3-hypothesis is not installed')
else:
    STATUS_LINE = re.compile(br'^HTTP/1\.[01] ([1-5][0-9]{2}) [^\r\n]+\r\n')
    ERROR_STATUSES = (400, 401, 404, 408, 414, 431, 501, 503, 504, 505)
    TOPICS = {'/camera/image_raw': IMAGE_TYPE, '/camera/image_raw/compressed': COMPRESSED_TYPE,
              '/only/compressed': COMPRESSED_TYPE, '/chatter': 'std_msgs/String'}
    KEYS = ('topic', 'type', 'width', 'height', 'quality', 'invert', 'default_transport', 'bitrate', 'gop',
            'qmin', 'qmax', 'preset')
    # Characters that matter to a parser: separators, escapes, controls, quotes, non-ASCII.
    ALPHABET = 'abcXYZ019/?&=%#;:@+ .\\-_~\'"<>\r\n\0\t\x7f\u00e9\u2603'
    WORDS = KEYS + ('/camera/image_raw', '/only/compressed', '-1', '0', '8193', '1e3', '0x10', ' 5', 'mjpeg',
                    'png', 'ros_compressed', 'h264', 'vp8', '%00', '%0d%0a', '%2F', '%zz', '..', '//', '')
    TEXT = st.one_of(st.text(alphabet=ALPHABET, max_size=24), st.sampled_from(WORDS))
    QUERY_VALUE = st.one_of(TEXT, st.integers(-10 ** 6, 10 ** 6).map(str), st.sampled_from(
        ['', 'raw', 'compressed', '95', '101', '8192', 'ultrafast', 'nope']))
    PARAMS = st.dictionaries(TEXT, QUERY_VALUE, max_size=6)
    # Each example is tried in several forms: thousands of cases within a few seconds' budget.
    FUZZ = settings(max_examples=600, deadline=None, database=None, suppress_health_check=list(HealthCheck))

    def check_error(err):
        assert err.status in ERROR_STATUSES, (err.status, err.reason)
        assert_well_formed(http_replies.error_reply(err.status, err.reason, '*', err.headers), err.status)

    def assert_well_formed(data, expected_status=None, stream=False, one_line=True):
        match = STATUS_LINE.match(data)
        assert match, 'bad status line: %r' % data[:200]
        status = int(match.group(1))
        assert expected_status is None or status == expected_status, (status, data[:200])
        head, sep, body = data.partition(b'\r\n\r\n')
        assert sep, 'no end of the reply head: %r' % data[:300]
        for line in head.split(b'\r\n')[1:]:
            name, colon, _ = line.partition(b': ')
            assert colon and re.match(br'^[A-Za-z0-9-]+$', name) and b'\0' not in line, 'bad header %r' % line
        if status >= 400 and one_line:
            assert body.count(b'\n') == 1 and body.endswith(b'\n') and b'\r' not in body and b'\0' not in body, \
                'reason not one line: %r' % body
        if not stream:
            length = re.search(br'\r\nContent-Length: ([0-9]+)\r\n', head + b'\r\n')
            assert length and int(length.group(1)) == len(body), (length, len(body), head)
        return status

    @FUZZ
    @given(TEXT, PARAMS)
    def test_parse_target_returns_a_path_or_400(text, params):
        query = '&'.join('%s=%s' % item for item in params.items())
        for target in (text, '/' + text, 'http://' + text, 'HTTPS://h/' + text + '?' + query, '//stream?' + query,
                       '/stream?' + text, '/health' + text):
            try:
                path, parsed = url_api.parse_target(target)
            except HttpError as err:
                assert err.status == 400, err.status
                check_error(err)
                continue
            assert path.startswith('/') and '?' not in path, (target, path)
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in parsed.items()), parsed

    @FUZZ
    @given(PARAMS, st.sampled_from(['/camera/image_raw', '/only/compressed', '/chatter', 'camera/image_raw']))
    def test_stream_queries_are_validated_or_refused_with_one_line(params, topic):
        for query in (params, dict(params, topic=topic)):
            for default_type, snapshot in (('mjpeg', False), ('png', True), ('h264', False)):
                try:
                    request = url_api.parse_stream_request(query, default_type, snapshot)
                    source, msg_type, spec = url_api.plan_source(request, TOPICS)
                except HttpError as err:
                    check_error(err)
                    continue
                assert request.topic.startswith('/') and -1 <= request.width <= url_api.MAX_SIZE and \
                    -1 <= request.height <= url_api.MAX_SIZE, request
                assert source in TOPICS and msg_type in (IMAGE_TYPE, COMPRESSED_TYPE), (source, msg_type)
                assert request.type in url_api.STREAM_TYPES + url_api.VIDEO_TYPES, request.type

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(sorted(http_replies.REASONS)), TEXT, st.lists(st.tuples(TEXT, TEXT), max_size=3))
    def test_any_reason_and_header_value_make_a_well_formed_reply(status, reason, headers):
        assert_well_formed(http_replies.error_reply(status, reason, '*'), status)
        data = http_replies.reply(status, 'text/plain', b'x', '*', [('X-Test', value) for _, value in headers])
        assert_well_formed(data, status, one_line=False)

    @pytest.fixture(scope='module')
    def server():
        harness = Harness(request_timeout=2.0, credentials=('viewer:s3cret',))
        harness.camera(fps=30.0)
        yield harness
        harness.close()

    METHOD = st.one_of(st.sampled_from(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH', 'get', 'G\0T']),
                       st.text(alphabet='ABCDEFGHIJKLMNOPQRSTUVWXYZ-', min_size=1, max_size=8))
    TARGET = st.one_of(TEXT.map(lambda t: '/' + t), TEXT, st.tuples(
        st.sampled_from(['/stream', '/snapshot', '/stream_viewer', '/health', '/', 'http://h/stream', '//stream']),
        PARAMS).map(lambda item: item[0] + '?' + '&'.join('%s=%s' % kv for kv in item[1].items())))
    VERSION = st.sampled_from(['HTTP/1.1', 'HTTP/1.0', 'HTTP/0.9', 'HTTP/2.0', 'HTTP/1.1.1', 'HTTP/x', '', 'http/1.1'])
    HEADER = st.tuples(st.one_of(st.sampled_from(['Authorization', 'Host', 'Origin', 'Content-Length', 'X']), TEXT),
                       st.one_of(TEXT, st.sampled_from(['Basic dmlld2VyOnMzY3JldA==', 'Basic dmlld2VyOnMzY3JldA',
                                                        'Basic %%%', 'Basic', '-1', '99999999999'])))

    def send_raw(port, data):
        sock = socket.create_connection(('127.0.0.1', port), 5)
        try:
            sock.sendall(data)
            reply, deadline = b'', time.time() + 5
            while time.time() < deadline:
                try:
                    chunk = sock.recv(65536)
                except socket.error:  # reset after the reply: what came is judged
                    break
                if not chunk:
                    break
                reply += chunk
                if reply.startswith(b'HTTP/1.0 200 ') and b'multipart/x-mixed-replace' in reply \
                        and b'\r\n\r\n' in reply:
                    break  # a stream: its head is what is checked
            return reply
        finally:
            sock.close()

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(METHOD, TARGET, VERSION, st.lists(HEADER, max_size=4), st.sampled_from([b'\r\n', b'\n']))
    def test_every_request_gets_a_well_formed_reply(server, method, target, version, headers, newline):
        line = ' '.join(part for part in (method, target, version) if part)
        text = newline.join(h.encode('utf-8', 'surrogatepass') for h in [line] + ['%s: %s' % kv for kv in headers])
        lines = [part.replace(b'\r', b'').replace(b'\n', b'') for part in text.split(newline)]
        data = newline.join(lines) + newline + newline
        if not lines[0].strip():
            data = b'X' + data
        reply = send_raw(server.port, data)
        stream = reply.startswith(b'HTTP/1.0 200 ') and b'multipart/x-mixed-replace' in reply
        status = assert_well_formed(reply, stream=stream)
        assert status in (200, 204) + ERROR_STATUSES, (status, data, reply[:300])
